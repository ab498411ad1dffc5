/** The conformance suite against the overlayfs snapshotter, once per option set (as containerd's overlay_test.go). */
import * as fs from 'node:fs';
import * as path from 'node:path';
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
