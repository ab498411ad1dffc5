/**
 * Diff/Compare, proven end to end: a container-like change set made in an
 * overlayfs snapshot is diffed (the overlay upper dir read directly) and
 * applied onto a native snapshot of the same base; the two trees must be equal
 * (recursively: types, modes, owners, contents, links, devices, xattrs), and
 * deleted files must stay deleted. The same with the double-walk differ
 * (native → native), and the unpacker turning those layers into snapshots
 * keyed by chain IDs.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Descriptor } from '../../supervisor/src/diff/content';
import { TestContent } from './support/content';
import { DiffService, UNCOMPRESSED_LABEL } from '../../supervisor/src/diff/local';
import { MediaTypes } from '../../supervisor/src/diff/compression';
import { chainIds, unpackLayers } from '../../supervisor/src/diff/unpack';
import { withTempMount } from '../../supervisor/src/mount/mount';
import { NativeSnapshotter } from '../../supervisor/src/snapshots/native/native';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import type { Snapshotter } from '../../supervisor/src/snapshots/snapshotter';
import { checkDirectoryEqual } from '../support/dir-equal';
import * as fst from '../support/fs-applier';

const base = fst.apply(
  fst.createDir('/etc', 0o755),
  fst.createFile('/etc/passwd', 'root:x:0:0::/root:/bin/sh\n', 0o644),
  fst.createFile('/etc/motd', 'hello\n', 0o644),
  fst.createDir('/var', 0o755),
  fst.createDir('/var/cache', 0o755),
  fst.createFile('/var/cache/a', 'a', 0o644),
  fst.createFile('/var/cache/b', 'b', 0o644),
  fst.createDir('/var/lib', 0o755),
  fst.createFile('/var/lib/db', 'db', 0o600),
  fst.createDir('/opt', 0o755),
  fst.createDir('/opt/app', 0o755),
  fst.createFile('/opt/app/run', '#!/bin/sh\n', 0o755),
  fst.symlink('/opt/app/run', '/run-app'),
  fst.createDir('/home', 0o755),
  fst.createDir('/home/u', 0o700),
  fst.chown('/home/u', 1000, 1000),
);

/** What a container does to its rootfs. */
const containerChanges = fst.apply(
  fst.createFile('/etc/motd', 'changed\n', 0o644), // modify
  fst.chmod('/etc/passwd', 0o600), // metadata only
  fst.removeAll('/var/cache/a'), // delete → whiteout
  fst.removeAll('/var/lib'), // delete a dir → whiteout
  fst.removeAll('/opt/app'), // replace a dir → opaque on overlay
  fst.createDir('/opt/app', 0o750),
  fst.createFile('/opt/app/new', 'new\n', 0o644),
  fst.createFile('/home/u/.history', 'ls\n', 0o600),
  fst.chown('/home/u/.history', 1000, 1000),
  fst.link('/home/u/.history', '/home/u/.history-link'), // hard link within the diff
  fst.symlink('../etc/motd', '/home/motd-link'),
  fst.setxattr('/etc/motd', 'user.origin', 'container'),
  fst.createDeviceNode('/etc/null', 'c', 1, 3, 0o666),
  fst.createFifo('/home/pipe', 0o600),
  fst.removeAll('/run-app'),
  fst.createFile('/run-app', 'now a file\n', 0o755), // symlink → file
);

let tmp: string;
let store: TestContent;
let diff: DiffService;

beforeAll(async () => {
  tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'diff-compare-'));
  store = new TestContent(path.join(tmp, 'content'));
  diff = new DiffService(store);
});
afterAll(async () => {
  await store?.close();
  await fs.promises.rm(tmp, { recursive: true, force: true });
});

async function commitLayer(sn: Snapshotter, name: string, parent: string, a: fst.Applier): Promise<void> {
  const m = await sn.prepare(`${name}-a`, parent);
  await withTempMount(m, a);
  await sn.commit(name, `${name}-a`);
}

async function readBlob(d: Descriptor): Promise<Buffer> {
  return fs.promises.readFile(store.blobPath(d.digest));
}

describe.each([
  ['overlayfs', 'overlay upper dir read directly'],
  ['native', 'double walk'],
] as const)('a container change set made on %s (%s) and applied onto native', (source, _how) => {
  it('gives the same tree, deletions included', async () => {
    const src = source === 'overlayfs' ? await OverlaySnapshotter.open(path.join(tmp, `src-${source}`)) : await NativeSnapshotter.open(path.join(tmp, `src-${source}`));
    const dst = await NativeSnapshotter.open(path.join(tmp, `dst-${source}`));
    try {
      await commitLayer(src, 'base', '', base);
      await commitLayer(dst, 'base', '', base);
      const upper = await src.prepare('container', 'base');
      await withTempMount(upper, containerChanges);
      const lower = await src.view('base-view', 'base');
      const layer = await diff.diff(lower, upper);
      expect(layer.mediaType).toBe(MediaTypes.layerGzip);
      const blob = await readBlob(layer);
      expect(`sha256:${crypto.createHash('sha256').update(blob).digest('hex')}`).toBe(layer.digest);
      const tar = zlib.gunzipSync(blob);
      expect(store.labels(layer.digest)[UNCOMPRESSED_LABEL]).toBe(`sha256:${crypto.createHash('sha256').update(tar).digest('hex')}`);
      const names = listTar(tar);
      expect(names).toEqual(expect.arrayContaining(['var/cache/.wh.a', 'var/.wh.lib', 'etc/motd', 'home/u/.history-link']));
      if (source === 'overlayfs') expect(names).toContain('opt/app/.wh..wh..opq');
      expect(names).not.toContain('var/cache/b'); // unchanged files are not in the layer

      const target = await dst.prepare('applied', 'base');
      const applied = await diff.apply(layer, target);
      expect(applied.digest).toBe(store.labels(layer.digest)[UNCOMPRESSED_LABEL]);

      await withTempMount(await src.mounts('container'), (a) =>
        withTempMount(target, async (b) => {
          await checkDirectoryEqual(a, b);
          expect(fs.existsSync(path.join(b, 'var/cache/a'))).toBe(false);
          expect(fs.existsSync(path.join(b, 'var/lib'))).toBe(false);
          expect(fs.readdirSync(path.join(b, 'opt/app'))).toEqual(['new']);
          const h = fs.statSync(path.join(b, 'home/u/.history'));
          expect(h.nlink).toBe(2);
        }),
      );
    } finally {
      await src.close();
      await dst.close();
    }
  });
});

/** Entry names of an uncompressed tar (the ustar name field, prefix joined). */
function listTar(tar: Buffer): string[] {
  const out: string[] = [];
  let pax: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (o: number, l: number): string => h.toString('utf8', o, o + l).replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const flag = String.fromCharCode(h[156]);
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    if (flag === 'x') pax = /path=([^\n]*)\n/.exec(tar.toString('utf8', off + 512, off + 512 + size))?.[1];
    else {
      out.push((pax ?? name).replace(/\/$/, ''));
      pax = undefined;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('unpacker', () => {
  it('makes committed snapshots keyed by chain IDs, reuses them, and removes the active snapshot on failure', async () => {
    const sn = await OverlaySnapshotter.open(path.join(tmp, 'unpack'));
    try {
      const mk = async (a: fst.Applier, name: string): Promise<{ blob: Descriptor; diffId: string }> => {
        const work = await NativeSnapshotter.open(path.join(tmp, `unpack-src-${name}`));
        const m = await work.prepare('x', '');
        await withTempMount(m, a);
        const blob = await diff.diff([], m);
        await work.close();
        return { blob, diffId: store.labels(blob.digest)[UNCOMPRESSED_LABEL] };
      };
      const l1 = await mk(base, 'l1');
      const l2 = await mk(fst.apply(fst.createFile('/l2', 'two', 0o644)), 'l2');
      const top = await unpackLayers(sn, diff, [l1, l2]);
      const chain = chainIds([l1.diffId, l2.diffId]);
      expect(top).toBe(chain[1]);
      expect((await sn.stat(chain[1])).parent).toBe(chain[0]);
      expect((await sn.stat(chain[0])).labels['containerd.io/snapshot.ref']).toBe(chain[0]);
      await withTempMount(await sn.view('v', top), async (root) => {
        expect(fs.readFileSync(path.join(root, 'l2'), 'utf8')).toBe('two');
        expect(fs.readFileSync(path.join(root, 'etc/motd'), 'utf8')).toBe('hello\n');
      });
      // Again: nothing new is made.
      const before: string[] = [];
      await sn.walk((i) => void before.push(i.name));
      expect(await unpackLayers(sn, diff, [l1, l2])).toBe(top);
      const after: string[] = [];
      await sn.walk((i) => void after.push(i.name));
      expect(after.sort()).toEqual(before.sort());
      // A wrong diff ID: refused, and no active snapshot is left behind.
      const bad = { blob: l2.blob, diffId: `sha256:${'0'.repeat(64)}` };
      await expect(unpackLayers(sn, diff, [l1, bad])).rejects.toThrow(/wrong diff id/);
      const left: string[] = [];
      await sn.walk((i) => void left.push(i.name), 'kind==active');
      expect(left).toEqual([]);
    } finally {
      await sn.close();
    }
  });
});
