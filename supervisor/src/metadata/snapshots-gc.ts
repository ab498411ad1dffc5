/**
 * The snapshot side of garbage collection (containerd metadata/gc.go, the
 * ResourceSnapshot nodes): GC nodes are "<snapshotter>/<key>"; a snapshot is
 * a root when labelled containerd.io/gc.root, references its parent and its
 * gc.ref labels, and once swept its backend snapshot is removed after the
 * collector's transaction (SnapshotStore.garbageCollect).
 */
import type { Logger } from '../daemon/logging';
import type { Node, SnapshotCollector } from './gc';
import type { SnapshotStore } from './snapshots';

export class SnapshotsCollector implements SnapshotCollector {
  constructor(
    private readonly stores: ReadonlyMap<string, SnapshotStore>,
    private readonly log: Logger,
  ) {}

  /** "<snapshotter>/<key>" → [store, key]; keys may hold "/", snapshotter names do not. */
  private split(node: string): [SnapshotStore | undefined, string] {
    const i = node.indexOf('/');
    return i < 0 ? [undefined, node] : [this.stores.get(node.slice(0, i)), node.slice(i + 1)];
  }

  private each(ns: string, fn: (s: SnapshotStore, ns: string) => string[]): string[] {
    const out: string[] = [];
    for (const [name, s] of this.stores) for (const k of fn(s, ns)) out.push(`${name}/${k}`);
    return out;
  }

  roots(ns: string): string[] {
    return this.each(ns, (s) => s.roots(ns));
  }

  references(ns: string, node: string): Node[] {
    const [s, key] = this.split(node);
    return s ? s.references(ns, key) : [];
  }

  all(ns: string): string[] {
    return this.each(ns, (s) => s.keys(ns));
  }

  remove(ns: string, node: string): void {
    const [s, key] = this.split(node);
    s?.removeRecord(ns, key);
  }

  /** Sweeps the backends whose records changed; one failing backend does not stop the others. */
  async cleanup(): Promise<void> {
    for (const [name, s] of this.stores) {
      try {
        await s.garbageCollect();
      } catch (err) {
        this.log.error('failed to garbage collect snapshotter', { snapshotter: name, err: String(err) });
      }
    }
  }
}
