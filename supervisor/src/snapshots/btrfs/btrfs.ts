/**
 * The btrfs snapshotter (containerd snapshots/btrfs/btrfs.go): one subvolume
 * per snapshot in <root>/snapshots/<id>; Prepare/View take a snapshot of the
 * parent's subvolume (an empty subvolume without parent), a view's is made
 * read-only, and Commit makes the subvolume read-only in place
 * (`btrfs property set ro true`). Mounts are btrfs mounts of the filesystem's
 * device with subvolid=<id>, as containerd's.
 *
 * The root must be on btrfs (statfs magic 0x9123683E); otherwise open() fails
 * with FailedPrecondition. Usage: a committed snapshot's usage is recorded at
 * commit; an active one's comes from the subvolume's qgroup when quotas are
 * enabled (exclusive bytes), else from a scan; inodes always from a scan.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Mount } from '../../mount/types';
import { makeRoot, mountsBelow, removeTree, renameInto } from '../fsutil/dirs';
import { diskUsage } from '../fsutil/usage';
import { MetaStoreSnapshotter } from '../metastore/base';
import { MetaStore } from '../metastore/metastore';
import * as storage from '../metastore/storage';
import type { Kind, SnapshotOpts, Usage } from '../snapshotter';
import * as btrfs from './btrfs-cli';
import { warnOnError } from '../log';

export interface BtrfsConfig {
  /** root_path: a directory on a btrfs filesystem. */
  root: string;
}

/** The device a path's filesystem is mounted from (the longest mount point containing it). */
function mountSource(p: string): string {
  let best = '';
  let source = '';
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 0) continue;
    const mp = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if ((p === mp || p.startsWith(mp === '/' ? '/' : mp + '/')) && mp.length >= best.length) {
      best = mp;
      source = f[dash + 2];
    }
  }
  return source;
}

export class BtrfsSnapshotter extends MetaStoreSnapshotter {
  private constructor(
    private readonly root: string,
    private readonly device: string,
    ms: MetaStore,
  ) {
    super(ms);
  }

  static async open(config: BtrfsConfig | string): Promise<BtrfsSnapshotter> {
    const c = typeof config === 'string' ? { root: config } : config;
    await fs.promises.mkdir(c.root, { recursive: true, mode: 0o700 });
    const root = await fs.promises.realpath(c.root);
    const st = await fs.promises.statfs(root);
    if (st.type !== btrfs.BTRFS_SUPER_MAGIC) {
      throw new FailedPreconditionError(
        `path ${root} must be a btrfs filesystem to be used with the btrfs snapshotter (statfs type 0x${st.type.toString(16)}, want 0x9123683e)`,
      );
    }
    await makeRoot(root, ['snapshots']);
    return new BtrfsSnapshotter(root, mountSource(root), MetaStore.open(path.join(root, 'metadata.db')));
  }

  private dir(id: string): string {
    return path.join(this.root, 'snapshots', id);
  }

  /** Exclusive bytes from the subvolume's qgroup when quotas are on, else a scan; inodes from the scan. */
  protected async activeUsage(id: string): Promise<Usage> {
    const scanned = await diskUsage(this.dir(id));
    const excl = await btrfs.qgroupExclusive(this.dir(id));
    return excl === undefined ? scanned : { size: excl, inodes: scanned.inodes };
  }

  /** A committed snapshot's subvolume is read-only. */
  protected override async sealCommitted(id: string): Promise<void> {
    await btrfs.setReadonly(this.dir(id), true);
  }

  async remove(key: string): Promise<void> {
    let doomed = '';
    await this.ms.withTransaction(true, async (tx) => {
      const { id } = storage.removeSnapshot(tx, key);
      doomed = path.join(this.root, 'snapshots', `rm-${id}`);
      await fs.promises.rename(this.dir(id), doomed);
    });
    await this.deleteSubvolume(doomed);
  }

  async cleanup(): Promise<void> {
    const ids = await this.ms.withTransaction(false, (tx) => storage.idMap(tx));
    for (const name of await fs.promises.readdir(path.join(this.root, 'snapshots'))) {
      if (!ids.has(name)) await this.deleteSubvolume(path.join(this.root, 'snapshots', name));
    }
  }

  private async deleteSubvolume(p: string): Promise<void> {
    if (mountsBelow(p).length > 0) throw new FailedPreconditionError(`refusing to delete ${JSON.stringify(p)}: something is mounted below it`);
    if (await btrfs.isSubvolume(p)) await btrfs.subvolDelete(p);
    else await removeTree(p);
  }

  protected async createSnapshot(kind: Kind, key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.ms.withTransaction(true, async (tx) => {
      const s = storage.createSnapshot(this.ms, tx, kind, key, parent, opts);
      const td = path.join(this.root, 'snapshots', `new-${crypto.randomBytes(6).toString('hex')}`);
      let made = false;
      try {
        if (s.parentIds.length > 0) {
          await btrfs.subvolSnapshot(this.dir(s.parentIds[0]), td, kind === 'view');
          made = true;
        } else {
          await btrfs.subvolCreate(td);
          made = true;
          if (kind === 'view') await btrfs.setReadonly(td, true);
        }
        await renameInto(td, this.dir(s.id), (p) => this.deleteSubvolume(p));
        made = false;
        return await this.mountsOf(s);
      } catch (err) {
        if (made) await btrfs.subvolDelete(td).catch(warnOnError('snapshots.btrfs', 'failed to delete temp subvolume', { path: td }));
        throw err;
      }
    });
  }

  protected async mountsOf(s: storage.Snapshot): Promise<Mount[]> {
    const sid = await btrfs.subvolId(this.dir(s.id));
    const options = [`subvolid=${sid}`];
    if (s.kind !== 'active') options.push('ro');
    return [{ type: 'btrfs', source: this.device, options }];
  }
}
