/**
 * A full disk: a snapshotter root on a small loop-device ext4. Copying a
 * parent (native Prepare) and unpacking a layer (Diff.Apply via the unpacker)
 * fail with ResourceExhausted, and no half-made snapshot stays visible — no
 * record, no directory, the space given back.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kindOf } from '../../proto/src/errdefs';
import { TestContent } from './support/content';
import { DiffService, UNCOMPRESSED_LABEL } from '../../supervisor/src/diff/local';
import { unpackLayers } from '../../supervisor/src/diff/unpack';
import { NativeSnapshotter } from '../../supervisor/src/snapshots/native/native';
import { detachAllLoopbacks, loopbackSkipReason, mountLoopback, type Loopback } from '../../supervisor/src/snapshots/testsuite/loopback';

const skip = loopbackSkipReason(['mkfs.ext4', 'losetup']);

(skip ? describe.skip : describe)(`full disk${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let tmp: string;
  let loop: Loopback;
  let sn: NativeSnapshotter;
  const root = (): string => path.join(tmp, 'root');

  beforeAll(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'full-disk-'));
    loop = await mountLoopback(root(), 'ext4', '24M', ['-q', '-m', '0']);
    sn = await NativeSnapshotter.open(root());
  });
  afterAll(async () => {
    await sn?.close();
    await loop?.release();
    await detachAllLoopbacks();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  const snapshotDirs = (): string[] => fs.readdirSync(path.join(root(), 'snapshots')).sort();
  const names = async (): Promise<string[]> => {
    const out: string[] = [];
    await sn.walk((i) => void out.push(i.name));
    return out.sort();
  };

  it('a Prepare that cannot copy its parent fails with ResourceExhausted and leaves nothing', async () => {
    const m = await sn.prepare('big-a', '');
    fs.writeFileSync(path.join(m[0].source, 'big'), crypto.randomBytes(14 << 20));
    await sn.commit('big', 'big-a');
    const dirsBefore = snapshotDirs();
    const err = await sn.prepare('child', 'big').then(() => undefined, (e: unknown) => e);
    expect(kindOf(err)).toBe('ResourceExhausted');
    expect(String(err)).toMatch(/no space left on device/);
    expect(await names()).toEqual(['big']);
    expect(snapshotDirs()).toEqual(dirsBefore);
    await sn.remove('big');
  });

  it('an unpack that fills the disk fails with ResourceExhausted and removes its active snapshot', async () => {
    const store = new TestContent(path.join(tmp, 'content')); // off the small disk
    const src = await NativeSnapshotter.open(path.join(tmp, 'src'));
    const m = await src.prepare('x', '');
    fs.writeFileSync(path.join(m[0].source, 'huge'), crypto.randomBytes(40 << 20));
    const diff = new DiffService(store);
    const blob = await diff.diff([], m, { mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    await src.close();
    const err = await unpackLayers(sn, diff, [{ blob, diffId: store.labels(blob.digest)[UNCOMPRESSED_LABEL] }]).then(() => undefined, (e: unknown) => e);
    expect(kindOf(err)).toBe('ResourceExhausted');
    expect(await names()).toEqual([]);
    expect(snapshotDirs()).toEqual([]);
    expect(fs.statfsSync(root()).bfree * fs.statfsSync(root()).bsize).toBeGreaterThan(16 << 20);
    await store.close();
  });
});
