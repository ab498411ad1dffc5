/**
 * Snapshots logic (containerd services/snapshots/snapshotters.go over
 * metadata/snapshot.go): every loaded snapshotter behind its namespaced
 * SnapshotStore and snapshot events (a removal marks the metadata store
 * dirty, and its collection follows from there).
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { Logger } from '../../daemon/logging';
import type { Exchange } from '../../events/exchange';
import type { Metadata } from '../../metadata/plugin';
import { SnapshotStore } from '../../metadata/snapshots';
import { SnapshotsCollector } from '../../metadata/snapshots-gc';
import type { Info, Mount, SnapshotOpts, Snapshotter, Usage, WalkFunc } from '../../snapshots/snapshotter';

export class SnapshotsLocal {
  readonly stores = new Map<string, SnapshotStore>();

  constructor(
    m: Metadata,
    backends: ReadonlyMap<string, Snapshotter>,
    private readonly events: Exchange,
    log: Logger,
  ) {
    for (const [name, b] of backends) this.stores.set(name, new SnapshotStore(name, b, m.db, log.child({ component: `snapshots.${name}` })));
    m.gc.registerSnapshots(new SnapshotsCollector(this.stores, log.child({ component: 'gc' })));
  }

  /** The store of a snapshotter by name; InvalidArgument when none is loaded under it (as containerd). */
  store(snapshotter: string): SnapshotStore {
    if (!snapshotter) throw new InvalidArgumentError('snapshotter argument missing: invalid argument');
    const s = this.stores.get(snapshotter);
    if (!s) throw new InvalidArgumentError(`snapshotter not loaded: ${snapshotter}: invalid argument`);
    return s;
  }

  stat(ns: string, sn: string, key: string): Promise<Info> {
    return this.store(sn).stat(ns, key);
  }

  update(ns: string, sn: string, info: Info, paths: string[]): Promise<Info> {
    return this.store(sn).update(ns, info, ...paths);
  }

  usage(ns: string, sn: string, key: string): Promise<Usage> {
    return this.store(sn).usage(ns, key);
  }

  mounts(ns: string, sn: string, key: string): Promise<Mount[]> {
    return this.store(sn).mounts(ns, key);
  }

  async prepare(ns: string, lease: string | undefined, sn: string, key: string, parent: string, opts: SnapshotOpts): Promise<Mount[]> {
    const mounts = await this.store(sn).create(ns, lease, 'active', key, parent, opts);
    this.events.publishTyped(ns, '/snapshot/prepare', 'containerd.events.SnapshotPrepare', { key, parent });
    return mounts;
  }

  view(ns: string, lease: string | undefined, sn: string, key: string, parent: string, opts: SnapshotOpts): Promise<Mount[]> {
    return this.store(sn).create(ns, lease, 'view', key, parent, opts);
  }

  async commit(ns: string, lease: string | undefined, sn: string, name: string, key: string, opts: SnapshotOpts): Promise<void> {
    await this.store(sn).commit(ns, lease, name, key, opts);
    this.events.publishTyped(ns, '/snapshot/commit', 'containerd.events.SnapshotCommit', { key, name });
  }

  remove(ns: string, lease: string | undefined, sn: string, key: string): void {
    this.store(sn).remove(ns, lease, key);
    this.events.publishTyped(ns, '/snapshot/remove', 'containerd.events.SnapshotRemove', { key });
  }

  walk(ns: string, sn: string, fn: WalkFunc, filters: string[]): Promise<void> {
    return this.store(sn).walk(ns, fn, ...filters);
  }

  /** Removes the backend snapshots no namespace refers to, then the backend's own leftovers. */
  async cleanup(sn: string): Promise<void> {
    await this.store(sn).garbageCollect(true);
  }
}
