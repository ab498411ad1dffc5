/** Content logic: the namespaced store, plus events (a delete's collection follows from the store's mutation). */
import type { Exchange } from '../../events/exchange';
import type { Metadata } from '../../metadata/plugin';

export class ContentLocal {
  constructor(
    readonly m: Metadata,
    private readonly events: Exchange,
  ) {}

  get store() {
    return this.m.content;
  }

  delete(ns: string, digest: string): void {
    this.m.content.delete(ns, digest);
    this.events.publishTyped(ns, '/content/delete', 'containerd.events.ContentDelete', { digest });
  }
}
