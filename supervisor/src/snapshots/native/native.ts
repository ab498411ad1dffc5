/**
 * The native snapshotter (containerd snapshots/native/native.go): every
 * snapshot is a full copy of its parent in <root>/snapshots/<id>, mounted by
 * bind. Works on any filesystem; the fallback everywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError } from '../../../../proto/src/errdefs';
import type { Mount } from '../../mount/types';
import { copyDir } from '../fsutil/copy';
import { diskUsage } from '../fsutil/usage';
import { MetaStoreSnapshotter } from '../metastore/base';
import { MetaStore } from '../metastore/metastore';
import * as storage from '../metastore/storage';
import type { Kind, SnapshotOpts, Usage } from '../snapshotter';
import { cleanupOrphans, makeRoot, removeTree, renameInto, tempDir } from '../fsutil/dirs';
import { warnOnError } from '../log';

export class NativeSnapshotter extends MetaStoreSnapshotter {
  private constructor(
    private readonly root: string,
    ms: MetaStore,
  ) {
    super(ms);
  }

  /** Opens (creating) a native snapshotter rooted at root (config: root_path). */
  static async open(root: string): Promise<NativeSnapshotter> {
    await makeRoot(root, ['snapshots']);
    return new NativeSnapshotter(root, MetaStore.open(path.join(root, 'metadata.db')));
  }

  private snapshotDir(id: string): string {
    return path.join(this.root, 'snapshots', id);
  }

  protected activeUsage(id: string): Promise<Usage> {
    return diskUsage(this.snapshotDir(id));
  }

  async remove(key: string): Promise<void> {
    let doomed = '';
    await this.ms.withTransaction(true, async (tx) => {
      const { id } = storage.removeSnapshot(tx, key);
      const dir = this.snapshotDir(id);
      const renamed = path.join(this.root, 'snapshots', `rm-${id}`);
      await fs.promises.rename(dir, renamed);
      doomed = renamed;
    });
    // The record is gone; a failure here leaves an orphan that cleanup() reclaims.
    await removeTree(doomed);
  }

  async cleanup(): Promise<void> {
    const ids = await this.ms.withTransaction(false, (tx) => storage.idMap(tx));
    await cleanupOrphans(path.join(this.root, 'snapshots'), ids, removeTree);
  }

  protected async createSnapshot(kind: Kind, key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.ms.withTransaction(true, async (tx) => {
      const td = await tempDir(path.join(this.root, 'snapshots'));
      try {
        const s = storage.createSnapshot(this.ms, tx, kind, key, parent, opts);
        if (s.parentIds.length > 0) {
          await copyDir(this.snapshotDir(s.parentIds[0]), td).catch((err: unknown) => {
            if (/No space left on device|Disk quota exceeded/.test(String((err as Error).message))) {
              throw new BerthError('ResourceExhausted', `failed to copy parent snapshot ${parent}: no space left on device`, { cause: err });
            }
            throw err;
          });
        }
        await renameInto(td, this.snapshotDir(s.id));
        return this.mountsOf(s);
      } catch (err) {
        await removeTree(td).catch(warnOnError('snapshots.native', 'failed to cleanup temp snapshot directory', { path: td }));
        throw err;
      }
    });
  }

  protected mountsOf(s: storage.Snapshot): Mount[] {
    return [{ type: 'bind', source: this.snapshotDir(s.id), options: [s.kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  }
}
