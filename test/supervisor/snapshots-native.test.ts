/** The conformance suite against the native snapshotter. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeSnapshotter } from '../../supervisor/src/snapshots/native/native';
import { snapshotterSuite } from '../../supervisor/src/snapshots/testsuite/testsuite';

snapshotterSuite('native', async (root) => ({ snapshotter: await NativeSnapshotter.open(root) }), {
  skip: process.getuid?.() === 0 ? undefined : 'needs root (mount, chown)',
  orphan: async (root) => {
    const p = path.join(root, 'snapshots', 'new-crashed');
    await fs.promises.mkdir(p);
    return async () => fs.existsSync(p);
  },
});
