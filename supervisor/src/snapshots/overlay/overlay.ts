/**
 * The overlayfs snapshotter (containerd snapshots/overlay/overlay.go).
 *
 * Layout: <root>/snapshots/<id>/fs (the upper dir; a committed snapshot's fs
 * is a lower dir of its children) and <root>/snapshots/<id>/work (work dir of an
 * active snapshot). Mounts, as containerd:
 *   - no parent: bind of fs (rw for active, ro for a view)
 *   - view of exactly one committed layer: ro bind of that layer
 *   - otherwise overlay with lowerdir=<parents, nearest first>, plus
 *     upperdir/workdir for an active snapshot, "index=off" when the kernel has
 *     the index feature, "userxattr" inside a user namespace.
 * Long lowerdir lists are compacted at mount time (supervisor/src/mount).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Mount } from '../../mount/types';
import { cleanupOrphans, makeRoot, removeTree, renameInto, tempDir } from '../fsutil/dirs';
import { diskUsage } from '../fsutil/usage';
import { MetaStoreSnapshotter } from '../metastore/base';
import { MetaStore } from '../metastore/metastore';
import * as storage from '../metastore/storage';
import type { Kind, SnapshotOpts, Usage } from '../snapshotter';
import { needsUserXattr, supportsIndex } from './overlay-utils';
import { warnOnError } from '../log';

export interface OverlayConfig {
  /** root_path. */
  root: string;
  /** Add "index=off" (default: when the kernel knows the index feature, as containerd). */
  indexOff?: boolean;
  /** Add "userxattr" (default: detected, see needsUserXattr). */
  userxattr?: boolean;
  /**
   * sync_remove: remove a snapshot's directory before Remove returns. Default
   * false, as containerd 1.6: Remove only commits the removal of the record,
   * and the directory, which no record names any more, goes in the next
   * cleanup() (the daemon's garbage collection runs one after removals).
   */
  syncRemove?: boolean;
}

export class OverlaySnapshotter extends MetaStoreSnapshotter {
  /** <root>/snapshots, normalised once: the paths below are built by concatenation (ids are numbers). */
  private readonly dir: string;

  private constructor(
    root: string,
    ms: MetaStore,
    readonly indexOff: boolean,
    readonly userxattr: boolean,
    readonly syncRemove: boolean,
  ) {
    super(ms);
    this.dir = path.join(root, 'snapshots');
  }

  static async open(config: OverlayConfig | string): Promise<OverlaySnapshotter> {
    const c = typeof config === 'string' ? { root: config } : config;
    await makeRoot(c.root, ['snapshots']);
    const indexOff = c.indexOff ?? supportsIndex();
    const userxattr = c.userxattr ?? (await needsUserXattr(c.root));
    return new OverlaySnapshotter(c.root, MetaStore.open(path.join(c.root, 'metadata.db')), indexOff, userxattr, c.syncRemove ?? false);
  }

  /** The upper (fs) dir of a snapshot id; the diff service reads it directly. */
  upperPath(id: string): string {
    return `${this.dir}/${id}/fs`;
  }

  private workPath(id: string): string {
    return `${this.dir}/${id}/work`;
  }

  protected activeUsage(id: string): Promise<Usage> {
    return diskUsage(this.upperPath(id));
  }

  /**
   * containerd's overlay Remove: the transaction removes the record and
   * nothing else (ids are never handed out again, so the directory cannot be
   * mistaken for a new snapshot's). With sync_remove the directory goes right
   * after the commit; a failure there is only logged, as containerd does: the
   * snapshot is gone, and cleanup() reclaims the directory.
   */
  async remove(key: string): Promise<void> {
    const { id } = await this.ms.withTransaction(true, (tx) => storage.removeSnapshot(tx, key));
    if (!this.syncRemove) return;
    const dir = `${this.dir}/${id}`;
    await removeTree(dir).catch(warnOnError('snapshots.overlay', 'failed to remove snapshot directory', { path: dir }));
  }

  /** Removes every directory under snapshots/ that no record names (containerd's Cleanup). */
  async cleanup(): Promise<void> {
    const ids = await this.ms.withTransaction(false, (tx) => storage.idMap(tx));
    await cleanupOrphans(this.dir, ids, removeTree);
  }

  /** The id and parent ids of an active/view snapshot (for the diff service's overlay fast path). */
  async snapshot(key: string): Promise<storage.Snapshot> {
    return this.ms.withTransaction(false, (tx) => storage.getSnapshot(tx, key));
  }

  protected async createSnapshot(kind: Kind, key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.ms.withTransaction(true, async (tx) => {
      const td = await tempDir(this.dir);
      try {
        // A handful of microsecond syscalls: synchronous, without thread-pool hops.
        fs.mkdirSync(path.join(td, 'fs'));
        fs.chmodSync(path.join(td, 'fs'), 0o755);
        if (kind === 'active') {
          fs.mkdirSync(path.join(td, 'work'));
          fs.chmodSync(path.join(td, 'work'), 0o711);
        }
        const s = storage.createSnapshot(this.ms, tx, kind, key, parent, opts);
        if (s.parentIds.length > 0) {
          // The new upper dir takes the owner of the parent's root (user-namespaced images).
          const st = fs.statSync(this.upperPath(s.parentIds[0]));
          fs.lchownSync(path.join(td, 'fs'), st.uid, st.gid);
        }
        await renameInto(td, `${this.dir}/${s.id}`);
        return this.mountsOf(s);
      } catch (err) {
        await removeTree(td).catch(warnOnError('snapshots.overlay', 'failed to cleanup temp snapshot directory', { path: td }));
        throw err;
      }
    });
  }

  protected mountsOf(s: storage.Snapshot): Mount[] {
    if (s.parentIds.length === 0) {
      return [{ type: 'bind', source: this.upperPath(s.id), options: [s.kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
    }
    const options: string[] = [];
    if (this.indexOff) options.push('index=off');
    if (this.userxattr) options.push('userxattr');
    if (s.kind === 'active') {
      options.push(`workdir=${this.workPath(s.id)}`, `upperdir=${this.upperPath(s.id)}`);
    } else if (s.parentIds.length === 1) {
      return [{ type: 'bind', source: this.upperPath(s.parentIds[0]), options: ['ro', 'rbind'] }];
    }
    options.push(`lowerdir=${s.parentIds.map((id) => this.upperPath(id)).join(':')}`);
    return [{ type: 'overlay', source: 'overlay', options }];
  }
}
