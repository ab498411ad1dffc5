/** Content logic: the namespaced store, plus events and GC scheduling on delete. */
import type { Exchange } from '../../events/exchange';
import type { GCScheduler } from '../../metadata/gc';
import type { Metadata } from '../../metadata/plugin';

export class ContentLocal {
  constructor(
    readonly m: Metadata,
    private readonly events: Exchange,
    private readonly gc: GCScheduler,
  ) {}

  get store() {
    return this.m.content;
  }

  delete(ns: string, digest: string): void {
    this.m.content.delete(ns, digest);
    this.events.publishTyped(ns, '/content/delete', 'containerd.events.ContentDelete', { digest });
    this.gc.schedule();
  }
}
