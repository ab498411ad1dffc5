/** The snapshotter plugins: config → constructor, and skips with the reason (ErrSkipPlugin). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { snapshotterPlugins } from '../../supervisor/src/snapshots/plugins';
import { SkipPlugin } from '../../supervisor/src/daemon/plugins';

const byId = (id: string) => snapshotterPlugins.find((p) => p.id === id)!;

describe('snapshotter plugins', () => {
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sn-plugins-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('registers containerd ids under io.containerd.snapshotter.v1', () => {
    expect(snapshotterPlugins.map((p) => `${p.type}.${p.id}`)).toEqual([
      'io.containerd.snapshotter.v1.overlayfs',
      'io.containerd.snapshotter.v1.native',
      'io.containerd.snapshotter.v1.btrfs',
      'io.containerd.snapshotter.v1.devmapper',
    ]);
  });

  it.each(['overlayfs', 'native'])('%s opens on its root (root_path overrides the plugin dir)', async (id) => {
    const exports: Record<string, string> = {};
    const root = path.join(tmp, `${id}-custom`);
    const sn = await byId(id).init({ root: path.join(tmp, id), config: { root_path: root }, exports });
    expect(exports.root).toBe(root);
    await sn.prepare('k', '');
    expect((await sn.stat('k')).kind).toBe('active');
    await sn.close();
    expect(fs.existsSync(path.join(root, 'metadata.db'))).toBe(true);
  });

  it('skips btrfs on a root that is not btrfs, with the reason', async () => {
    const err = await byId('btrfs').init({ root: path.join(tmp, 'btrfs'), config: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkipPlugin);
    expect(String(err)).toMatch(/must be a btrfs filesystem/);
  });

  it('skips devmapper when not configured', async () => {
    const err = await byId('devmapper').init({ root: path.join(tmp, 'dm'), config: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkipPlugin);
    expect(String(err)).toMatch(/not configured/);
  });
});
