/**
 * What the snapshotter backends (overlay, native, btrfs, devmapper) share:
 * their metadata lives in a MetaStore (containerd's storage package over
 * bolt), so Stat, Update and Walk read or write it directly, Usage is the
 * recorded one for a committed snapshot and the backend's measure of an
 * active one, Mounts, Prepare and View go through the backend's mountsOf and
 * createSnapshot, and Commit records the usage and lets the backend seal the
 * snapshot. containerd writes these out in each snapshotter; here they are
 * once, and each backend keeps only what is its own.
 */
import type { Mount } from '../../mount/types';
import type { Info, Kind, SnapshotOpts, Snapshotter, Usage, WalkFunc } from '../snapshotter';
import type { MetaStore } from './metastore';
import * as storage from './storage';

export abstract class MetaStoreSnapshotter implements Snapshotter {
  protected constructor(protected readonly ms: MetaStore) {}

  /** The space and inodes an active snapshot (backend id) uses now. */
  protected abstract activeUsage(id: string): Promise<Usage>;

  /** The mounts of an active snapshot or a view. */
  protected abstract mountsOf(s: storage.Snapshot): Mount[] | Promise<Mount[]>;

  /** Makes the snapshot (record and backend object) in one write transaction; its mounts. */
  protected abstract createSnapshot(kind: Kind, key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]>;

  /** After Commit recorded the snapshot as committed, inside its transaction (e.g. make it read-only). */
  protected async sealCommitted(_id: string): Promise<void> {}

  /** The options a Commit records, from the active snapshot's info and the caller's (default: the caller's). */
  protected commitOpts(_info: Info, opts?: SnapshotOpts): SnapshotOpts | undefined {
    return opts;
  }

  abstract remove(key: string): Promise<void>;

  async stat(key: string): Promise<Info> {
    return this.ms.withTransaction(false, (tx) => storage.getInfo(tx, key).info);
  }

  async update(info: Info, ...fieldpaths: string[]): Promise<Info> {
    return this.ms.withTransaction(true, (tx) => storage.updateInfo(tx, info, ...fieldpaths));
  }

  async usage(key: string): Promise<Usage> {
    const { id, info, usage } = await this.ms.withTransaction(false, (tx) => storage.getInfo(tx, key));
    return info.kind === 'active' ? this.activeUsage(id) : usage;
  }

  async mounts(key: string): Promise<Mount[]> {
    const s = await this.ms.withTransaction(false, (tx) => storage.getSnapshot(tx, key));
    return this.mountsOf(s);
  }

  prepare(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.createSnapshot('active', key, parent, opts);
  }

  view(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.createSnapshot('view', key, parent, opts);
  }

  async commit(name: string, key: string, opts?: SnapshotOpts): Promise<void> {
    await this.ms.withTransaction(true, async (tx) => {
      const { id, info } = storage.getInfo(tx, key);
      // A view is refused by commitActive; nothing is measured for it.
      const usage = info.kind === 'active' ? await this.activeUsage(id) : { size: 0, inodes: 0 };
      storage.commitActive(tx, key, name, usage, this.commitOpts(info, opts));
      await this.sealCommitted(id);
    });
  }

  async walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    await this.ms.withTransaction(false, (tx) => storage.walkInfo(tx, fn, ...filters));
  }

  async close(): Promise<void> {
    await this.ms.close();
  }
}
