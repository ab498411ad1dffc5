/**
 * Diff.Apply: OCI layers (tar, gzip, zstd) onto native and overlayfs
 * snapshots — file types, ownership, modes, xattrs (binary too), mtimes, hard
 * links, whiteouts in each snapshotter's form — and bad input refused without
 * touching anything outside the snapshot.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { kindOf } from '../../proto/src/errdefs';
import type { Descriptor } from '../../supervisor/src/diff/content';
import { TestContent } from './support/content';
import { DiffService } from '../../supervisor/src/diff/local';
import { MediaTypes } from '../../supervisor/src/diff/compression';
import type { TarHeader } from '../../supervisor/src/diff/tar/header';
import { writeTar } from '../../supervisor/src/diff/tar/writer';
import { withTempMount } from '../../supervisor/src/mount/mount';
import { NativeSnapshotter } from '../../supervisor/src/snapshots/native/native';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import { getXattrs } from '../../supervisor/src/snapshots/fsutil/xattr';
import type { Snapshotter } from '../../supervisor/src/snapshots/snapshotter';

type E = Partial<TarHeader> & { name: string; body?: string | Buffer };

function hdr(e: E): { header: TarHeader; body?: () => AsyncIterable<Buffer> } {
  const content = e.body === undefined ? undefined : Buffer.from(e.body);
  const type = e.type ?? (e.name.endsWith('/') ? 'dir' : 'file');
  return {
    header: {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'dir' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: content?.length ?? 0,
      mtime: e.mtime ?? 1_600_000_000,
      linkname: e.linkname ?? '',
      devmajor: e.devmajor ?? 0,
      devminor: e.devminor ?? 0,
      xattrs: e.xattrs ?? new Map(),
    },
    body: content ? async function* () { yield content; } : undefined,
  };
}

async function tarOf(entries: E[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // eslint-disable-next-line @typescript-eslint/require-await
  for await (const c of writeTar((async function* () { for (const e of entries) yield hdr(e); })())) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

let tmp: string;
let store: TestContent;
let diff: DiffService;

async function ingest(data: Buffer, mediaType: string): Promise<Descriptor> {
  const w = await store.writer(crypto.randomBytes(4).toString('hex'));
  await w.write(data);
  const digest = `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
  await w.commit(data.length, digest).catch(() => undefined);
  return { mediaType, digest, size: data.length };
}

const sha = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const gz = (b: Buffer): Buffer => zlib.gzipSync(b);

beforeAll(async () => {
  tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'diff-apply-'));
  store = new TestContent(path.join(tmp, 'content'));
  diff = new DiffService(store);
});
afterAll(async () => {
  await store?.close();
  await fs.promises.rm(tmp, { recursive: true, force: true });
});

const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // security.capability: cap_net_bind_service

const richLayer: E[] = [
  { name: 'etc/', mode: 0o755 },
  { name: 'etc/hostname', body: 'box\n', mode: 0o644, uid: 1000, gid: 1001, mtime: 1_500_000_000 },
  { name: 'bin/', mode: 0o755 },
  { name: 'bin/ping', body: 'ELF', mode: 0o4755, xattrs: new Map([['security.capability', CAP], ['user.note', Buffer.from('héllo')]]) },
  { name: 'bin/ping-link', type: 'link', linkname: 'bin/ping' },
  { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox', uid: 5, gid: 6 },
  { name: 'dev/', mode: 0o755 },
  { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'dev/loop9', type: 'block', devmajor: 7, devminor: 9, mode: 0o660 },
  { name: 'run/fifo', type: 'fifo', mode: 0o600 },
  { name: 'tmp/', mode: 0o1777, mtime: 1_400_000_000 },
  { name: `deep/${'d'.repeat(120)}/${'f'.repeat(120)}`, body: 'long name' },
];

async function checkRich(root: string): Promise<void> {
  const st = (p: string) => fs.lstatSync(path.join(root, p));
  expect(fs.readFileSync(path.join(root, 'etc/hostname'), 'utf8')).toBe('box\n');
  expect([st('etc/hostname').uid, st('etc/hostname').gid, st('etc/hostname').mode & 0o7777]).toEqual([1000, 1001, 0o644]);
  expect(Math.floor(st('etc/hostname').mtimeMs / 1000)).toBe(1_500_000_000);
  expect(st('bin/ping').mode & 0o7777).toBe(0o4755);
  expect(st('bin/ping').ino).toBe(st('bin/ping-link').ino);
  const x = await getXattrs(path.join(root, 'bin/ping'));
  expect(x.get('security.capability')?.equals(CAP)).toBe(true);
  expect(x.get('user.note')?.toString()).toBe('héllo');
  expect(fs.readlinkSync(path.join(root, 'bin/sh'))).toBe('/bin/busybox');
  expect([st('bin/sh').uid, st('bin/sh').gid]).toEqual([5, 6]);
  expect(st('dev/null').isCharacterDevice()).toBe(true);
  expect(st('dev/null').rdev).toBe((1 << 8) | 3);
  expect(st('dev/loop9').isBlockDevice()).toBe(true);
  expect(st('run/fifo').isFIFO()).toBe(true);
  expect(st('run').mode & 0o7777).toBe(0o755); // a missing parent is made 0755
  expect(st('tmp').mode & 0o7777).toBe(0o1777);
  expect(Math.floor(st('tmp').mtimeMs / 1000)).toBe(1_400_000_000);
  expect(fs.readFileSync(path.join(root, `deep/${'d'.repeat(120)}/${'f'.repeat(120)}`), 'utf8')).toBe('long name');
}

async function withSnapshotter<T>(kind: 'native' | 'overlay', fn: (sn: Snapshotter, root: string) => Promise<T>): Promise<T> {
  const root = await fs.promises.mkdtemp(path.join(tmp, `${kind}-`));
  const sn = kind === 'native' ? await NativeSnapshotter.open(root) : await OverlaySnapshotter.open(root);
  try {
    return await fn(sn, root);
  } finally {
    await sn.close();
  }
}

describe.each(['native', 'overlay'] as const)('Diff.Apply onto %s', (kind) => {
  it('keeps file types, owners, modes, binary xattrs, mtimes and hard links (tar, gzip, zstd)', async () => {
    const tar = await tarOf(richLayer);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    for (const [data, mt] of [
      [tar, MediaTypes.layer],
      [gz(tar), MediaTypes.layerGzip],
      [zst, MediaTypes.layerZstd],
    ] as const) {
      await withSnapshotter(kind, async (sn) => {
        // On a parent, so that overlay applies into an upper dir over a lower one.
        await sn.prepare('base-a', '');
        await sn.commit('base', 'base-a');
        const mounts = await sn.prepare(`k-${mt}`, 'base');
        const applied = await diff.apply(await ingest(data, mt), mounts);
        expect(applied).toEqual({ mediaType: MediaTypes.layer, digest: sha(tar), size: tar.length });
        await withTempMount(mounts, checkRich);
      });
    }
  });

  it('turns whiteouts into deletions (native) or overlay whiteouts and opaque dirs (overlay)', async () => {
    await withSnapshotter(kind, async (sn) => {
      const l1 = await tarOf([
        { name: 'a/', mode: 0o755 },
        { name: 'a/b', body: 'b' },
        { name: 'a/c', body: 'c' },
        { name: 'd/', mode: 0o700 },
        { name: 'd/x', body: 'x' },
        { name: 'd/sub/', mode: 0o755 },
        { name: 'd/sub/z', body: 'z' },
        { name: 'gone/', mode: 0o755 },
        { name: 'gone/f', body: 'f' },
      ]);
      const l2 = await tarOf([
        { name: 'a/.wh.b', body: '' },
        { name: 'd/', mode: 0o750 },
        { name: 'd/y', body: 'y' },
        { name: 'd/.wh..wh..opq', body: '' },
        { name: '.wh.gone', body: '' },
      ]);
      let m = await sn.prepare('l1-a', '');
      await diff.apply(await ingest(gz(l1), MediaTypes.layerGzip), m);
      await sn.commit('l1', 'l1-a');
      m = await sn.prepare('l2-a', 'l1');
      await diff.apply(await ingest(gz(l2), MediaTypes.layerGzip), m);
      if (kind === 'overlay') {
        const upper = m[0].options.find((o) => o.startsWith('upperdir='))!.slice('upperdir='.length);
        const wh = fs.lstatSync(path.join(upper, 'a/b'));
        expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
        expect((await getXattrs(path.join(upper, 'd'))).get('trusted.overlay.opaque')?.toString()).toBe('y');
        expect(fs.readdirSync(path.join(upper, 'd')).sort()).toEqual(['y']);
      }
      await sn.commit('l2', 'l2-a');
      await withTempMount(await sn.view('v', 'l2'), async (root) => {
        expect(fs.readdirSync(root).sort()).toEqual(['a', 'd']);
        expect(fs.readdirSync(path.join(root, 'a'))).toEqual(['c']);
        expect(fs.readdirSync(path.join(root, 'd'))).toEqual(['y']);
        expect(fs.statSync(path.join(root, 'd')).mode & 0o777).toBe(0o750);
      });
    });
  });

  describe('bad input', () => {
    const cases: Array<[string, () => Promise<Buffer>, string, RegExp, string]> = [
      ['a ../ escape', () => tarOf([{ name: '../../escaped', body: 'x' }]), MediaTypes.layer, /escapes the root/, 'InvalidArgument'],
      ['an absolute name', () => tarOf([{ name: '/abs', body: 'x' }]), MediaTypes.layer, /absolute path refused/, 'InvalidArgument'],
      [
        'a path through a symlink out of the root',
        () => tarOf([{ name: 'evil', type: 'symlink', linkname: '../../../../../../tmp' }, { name: 'evil/escaped', body: 'x' }]),
        MediaTypes.layer,
        /outside the root/,
        'InvalidArgument',
      ],
      ['a hard link out of the root', () => tarOf([{ name: 'l', type: 'link', linkname: '../../etc/passwd' }]), MediaTypes.layer, /escapes the root/, 'InvalidArgument'],
      ['a truncated gzip', async () => gz(await tarOf(richLayer)).subarray(0, 300), MediaTypes.layerGzip, /unexpected end of file|truncated/, 'InvalidArgument'],
      ['a truncated tar', async () => (await tarOf(richLayer)).subarray(0, 1500), MediaTypes.layer, /truncated/, 'InvalidArgument'],
      ['a corrupt zstd frame', async () => Buffer.from('28b52ffd0000deadbeef', 'hex'), MediaTypes.layerZstd, /zstd failed/, 'InvalidArgument'],
      ['not a tar', async () => Buffer.alloc(2048, 0x41), MediaTypes.layer, /checksum|not a tar/, 'InvalidArgument'],
      ['an unknown media type', () => tarOf([{ name: 'f', body: 'x' }]), 'application/vnd.example.layer.v1.tar+lz4', /unsupported diff media type/, 'NotImplemented'],
    ];
    it.each(cases)('refuses %s', async (_name, make, mediaType, message, errKind) => {
      await withSnapshotter(kind, async (sn, root) => {
        const outside = path.join(tmp, 'escaped');
        const mounts = await sn.prepare('k', '');
        const err = await diff.apply(await ingest(await make(), mediaType), mounts).then(() => undefined, (e: unknown) => e);
        expect(String(err)).toMatch(message);
        expect(kindOf(err)).toBe(errKind);
        expect(fs.existsSync(outside)).toBe(false);
        expect(fs.existsSync('/tmp/escaped')).toBe(false);
        expect(fs.existsSync(path.join(path.dirname(root), 'escaped'))).toBe(false);
        await sn.remove('k');
      });
    });
    it('refuses a blob whose digest does not match its descriptor', async () => {
      await withSnapshotter(kind, async (sn) => {
        const good = await ingest(await tarOf([{ name: 'f', body: 'x' }]), MediaTypes.layer);
        const other = await ingest(await tarOf([{ name: 'g', body: 'y' }]), MediaTypes.layer);
        const path1 = store.blobPath(good.digest);
        fs.copyFileSync(store.blobPath(other.digest), path1);
        const err = await diff.apply(good, await sn.prepare('k', '')).then(() => undefined, (e: unknown) => e);
        expect(String(err)).toMatch(/digest mismatch/);
      });
    });
  });
});

describe('tar format against GNU tar', () => {
  it('GNU tar reads what berth writes, xattrs included', async () => {
    const file = path.join(tmp, 'berth.tar');
    fs.writeFileSync(file, await tarOf(richLayer));
    const listing = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvf', file], { encoding: 'utf8' });
    expect(listing).toMatch(/-rwsr-xr-x\* 0\/0\s+3 .* bin\/ping\n/);
    expect(listing).toMatch(/bin\/ping-link link to bin\/ping/);
    expect(listing).toMatch(/crw-rw-rw-\s+0\/0\s+1,3 .* dev\/null/);
    expect(listing).toMatch(/d{120}\/f{120}/);
    const out = path.join(tmp, 'gnu-x');
    fs.mkdirSync(out);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--same-owner', '-xpf', file, '-C', out]);
    await checkRich(out);
  });

  it('berth applies what GNU tar writes (PAX xattrs, hard links, devices)', async () => {
    const src = path.join(tmp, 'gnu-src');
    fs.mkdirSync(src);
    const tar = await tarOf(richLayer);
    // Unpack with berth onto a native snapshot, pack that tree with GNU tar, apply again.
    await withSnapshotter('native', async (sn) => {
      const m = await sn.prepare('a', '');
      await diff.apply(await ingest(tar, MediaTypes.layer), m);
      const gnu = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-C', m[0].source, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
      const m2 = await sn.prepare('b', '');
      await diff.apply(await ingest(gnu, MediaTypes.layer), m2);
      await checkRich(m2[0].source);
    });
  });
});
