/**
 * Diff logic: the walking differ (diff/local.ts DiffService) over berthd's
 * content store, scoped per call to the caller's namespace and lease
 * (containerd services/diff/local.go with the "walking" differ).
 */
import { NamespacedContent } from '../../diff/content';
import { DiffService } from '../../diff/local';
import type { ContentStore } from '../../metadata/content';

export class DiffLocal {
  constructor(private readonly content: ContentStore) {}

  /** The differ for one call: reads and writes the namespace's content, under the lease. */
  differ(ns: string, lease?: string): DiffService {
    return new DiffService(new NamespacedContent(this.content, ns, lease));
  }
}
