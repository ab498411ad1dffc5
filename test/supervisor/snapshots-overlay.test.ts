/**
 * The conformance suite against the overlayfs snapshotter, once per option set
 * (as containerd's overlay_test.go), then overlay-only checks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withTempMount } from '../../supervisor/src/mount/mount';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import { snapshotterSuite } from '../../supervisor/src/snapshots/testsuite/testsuite';

const skip = process.getuid?.() !== 0
  ? 'needs root (mount)'
  : !fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay')
    ? 'no overlay in /proc/filesystems'
    : undefined;

const orphan = async (root: string) => {
  const p = path.join(root, 'snapshots', '999999');
  await fs.promises.mkdir(path.join(p, 'fs'), { recursive: true });
  return async () => fs.existsSync(p);
};

snapshotterSuite('overlayfs', async (root) => ({ snapshotter: await OverlaySnapshotter.open(root) }), { skip, orphan });

snapshotterSuite('overlayfs-sync-remove', async (root) => ({ snapshotter: await OverlaySnapshotter.open({ root, syncRemove: true }) }), {
  skip,
  orphan,
  exclude: { '128LayersMount': 'chain depth does not depend on sync_remove; run by the default option set' },
});

(skip ? describe.skip : describe)('overlayfs specifics', () => {
  let tmp: string;
  beforeEach(async () => (tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'overlay-specific-'))));
  afterEach(() => fs.promises.rm(tmp, { recursive: true, force: true }));

  it('returns containerd\'s mounts: bind for one layer, overlay with index=off and lowerdirs nearest first', async () => {
    const sn = await OverlaySnapshotter.open(path.join(tmp, 'r'));
    try {
      const up = (id: string) => path.join(tmp, 'r', 'snapshots', id, 'fs');
      expect(await sn.prepare('a', '')).toEqual([{ type: 'bind', source: up('1'), options: ['rw', 'rbind'] }]);
      await sn.commit('c1', 'a');
      expect(await sn.view('v1', 'c1')).toEqual([{ type: 'bind', source: up('1'), options: ['ro', 'rbind'] }]);
      await sn.prepare('b', 'c1');
      await sn.commit('c2', 'b');
      const idx = sn.indexOff ? ['index=off'] : [];
      expect(await sn.prepare('top', 'c2')).toEqual([
        { type: 'overlay', source: 'overlay', options: [...idx, `workdir=${path.join(tmp, 'r', 'snapshots', '4', 'work')}`, `upperdir=${up('4')}`, `lowerdir=${up('3')}:${up('1')}`] },
      ]);
      expect(await sn.view('v2', 'c2')).toEqual([{ type: 'overlay', source: 'overlay', options: [...idx, `lowerdir=${up('3')}:${up('1')}`] }]);
      expect(sn.indexOff).toBe(fs.existsSync('/sys/module/overlay/parameters/index'));
      expect(sn.userxattr).toBe(false); // real root, not in a user namespace
    } finally {
      await sn.close();
    }
  });

  it('moves aside a directory a crash left under a reused id', async () => {
    const root = path.join(tmp, 'r');
    let sn = await OverlaySnapshotter.open(root);
    await sn.close();
    // A crash after the rename of snapshot 1 but before its record was committed.
    await fs.promises.mkdir(path.join(root, 'snapshots', '1', 'fs'), { recursive: true });
    await fs.promises.writeFile(path.join(root, 'snapshots', '1', 'fs', 'stale'), 'x');
    sn = await OverlaySnapshotter.open(root);
    try {
      const m = await sn.prepare('fresh', '');
      await withTempMount(m, async (dir) => expect(fs.readdirSync(dir)).toEqual([]));
      expect(fs.readdirSync(path.join(root, 'snapshots')).filter((n) => n.startsWith('rm-'))).toEqual([]);
    } finally {
      await sn.close();
    }
  });
});
