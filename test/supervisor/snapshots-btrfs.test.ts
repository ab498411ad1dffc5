/**
 * The conformance suite against the btrfs snapshotter, each check on its own
 * loop-device btrfs (as containerd's btrfs_test.go), plus its backend-only
 * checks: a root that is not btrfs is refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isFailedPrecondition } from '../../proto/src/errdefs';
import { BtrfsSnapshotter } from '../../supervisor/src/snapshots/btrfs/btrfs';
import { mountsBelow } from '../../supervisor/src/snapshots/fsutil/dirs';
import { detachAllLoopbacks, loopbackSkipReason, mountLoopback } from '../../supervisor/src/snapshots/testsuite/loopback';
import { snapshotterSuite } from '../../supervisor/src/snapshots/testsuite/testsuite';

const skip = loopbackSkipReason(['mkfs.btrfs', 'btrfs', 'losetup']) ??
  (fs.readFileSync('/proc/filesystems', 'utf8').includes('btrfs') ? undefined : 'no btrfs in /proc/filesystems');

afterAll(detachAllLoopbacks);

snapshotterSuite(
  'btrfs',
  async (root) => {
    // First open on this root: make the filesystem; a restart reuses the mount.
    if (mountsBelow(root).length === 0) {
      const loop = await mountLoopback(root, 'btrfs', '256M', ['-q']);
      return { snapshotter: await BtrfsSnapshotter.open(root), cleanup: loop.release };
    }
    return { snapshotter: await BtrfsSnapshotter.open(root) };
  },
  {
    skip,
    orphan: async (root) => {
      const p = path.join(root, 'snapshots', 'new-crashed');
      const { run } = await import('../../supervisor/src/snapshots/fsutil/exec');
      await run('btrfs', ['subvolume', 'create', p]);
      return async () => fs.existsSync(p);
    },
  },
);

(skip ? describe.skip : describe)('btrfs snapshotter bad input', () => {
  it('refuses a root that is not on btrfs', async () => {
    const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'btrfs-not-'));
    try {
      const err = await BtrfsSnapshotter.open(root).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isFailedPrecondition(err)).toBe(true);
      expect(String(err)).toMatch(/must be a btrfs filesystem.*0x9123683e/);
      expect(fs.existsSync(path.join(root, 'metadata.db'))).toBe(false);
    } finally {
      await fs.promises.rm(root, { recursive: true, force: true });
    }
  });
});
