/**
 * Image archives: OCI layouts (umoci), docker-save archives (skopeo, plain
 * and gzipped), a two-platform index, export and re-import (checked by
 * umoci), and bad archives (truncated, corrupt blob, not a tar) that fail
 * with the right kind and leave what was committed before intact.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Client } from '../../supervisor/src/client/client';
import { readBlob } from '../../supervisor/src/client/content';
import { exportArchive } from '../../supervisor/src/images/archive-export';
import { importArchive } from '../../supervisor/src/images/archive-import';
import { setUnpacker, type UnpackRequest } from '../../supervisor/src/images/unpacker';
import { removeDir, startDaemon, type Daemon } from './support/daemon';
import { collectGarbage, contentDigests } from './support/gc';
import { blobFile, dockerArchive, makeBusyboxLayout, makeMultiPlatform, tarLayout, type Layout } from './support/image';
import { runOk } from './support/run';

let work: string;
let d: Daemon;
let layout: Layout;
let ociTar: string;
let manifest: { config: { digest: string }; layers: Array<{ digest: string }> };

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-archive-'));
  [d, layout] = await Promise.all([startDaemon(), makeBusyboxLayout(work, { extraBytes: 2 << 20 })]);
  manifest = JSON.parse(fs.readFileSync(blobFile(layout.dir, layout.manifest.digest), 'utf8'));
  ociTar = await tarLayout(layout.dir, path.join(work, 'oci.tar'));
});
afterAll(async () => {
  await d?.stop();
  removeDir(work);
});

const client = (ns: string): Client => d.client(ns);

test('an OCI layout archive imports with its tree labelled for the collector', async () => {
  const c = client('oci');
  const out = await importArchive(c, ociTar, { baseName: 'test/busybox' });
  expect(out.map((i) => i.name)).toEqual(['test/busybox:latest']);
  const { image } = await c.call('images', 'Get', { name: 'test/busybox:latest' });
  expect(image.target).toMatchObject({ digest: layout.manifest.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  const labels = (await c.call('content', 'Info', { digest: layout.manifest.digest })).info.labels;
  expect(labels['containerd.io/gc.ref.content.config']).toBe(manifest.config.digest);
  expect(labels['containerd.io/gc.ref.content.l.1']).toBe(manifest.layers[1].digest);
  // the import's lease is gone: after a collection exactly the image's tree is left
  await collectGarbage(c);
  expect(await contentDigests(c)).toEqual([layout.manifest.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].sort());
});

test('docker save archives (by skopeo), plain and gzipped, import with docker media types', async () => {
  const plain = await dockerArchive(layout, path.join(work, 'docker.tar'), 'busybox:dock');
  const gz = path.join(work, 'docker.tar.gz');
  fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(plain)));
  for (const [ns, file] of [
    ['docker', plain],
    ['docker-gz', gz],
  ]) {
    const c = client(ns);
    const out = await importArchive(c, file);
    expect(out.map((i) => i.name)).toEqual(['docker.io/library/busybox:dock']);
    const target = out[0].target;
    expect(target.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const m = JSON.parse((await readBlob(c, target.digest)).toString());
    expect(m.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(m.layers).toHaveLength(2);
    const config = JSON.parse((await readBlob(c, m.config.digest)).toString());
    // the layers are the uncompressed tars: their digests are the config's diff_ids
    expect(m.layers.map((l: { digest: string }) => l.digest)).toEqual(config.rootfs.diff_ids);
  }
});

test('a docker archive of several images (docker save a b) imports each under its tags', async () => {
  const x = path.join(work, 'multi-docker');
  fs.mkdirSync(x);
  await runOk('tar', ['-C', x, '-xf', await dockerArchive(layout, path.join(work, 'docker-one.tar'), 'busybox:one')]);
  const list = JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.join(x, list[0].Config), 'utf8'));
  const other = Buffer.from(JSON.stringify({ ...config, author: 'second image' }));
  const otherName = `${crypto.createHash('sha256').update(other).digest('hex')}.json`;
  fs.writeFileSync(path.join(x, otherName), other);
  list.push({ Config: otherName, RepoTags: ['example.com/other:2', 'example.com/other:latest'], Layers: list[0].Layers });
  fs.writeFileSync(path.join(x, 'manifest.json'), JSON.stringify(list));
  const tar = path.join(work, 'docker-two.tar');
  await runOk('tar', ['-C', x, '-cf', tar, '.']);
  const c = client('docker-multi');
  const out = await importArchive(c, tar);
  expect(out.map((i) => i.name)).toEqual(['docker.io/library/busybox:one', 'example.com/other:2', 'example.com/other:latest']);
  expect(out[1].target.digest).toBe(out[2].target.digest);
  expect(out[0].target.digest).not.toBe(out[1].target.digest);
  const m = JSON.parse((await readBlob(c, out[1].target.digest)).toString());
  expect(m.config.digest).toBe(`sha256:${otherName.slice(0, 64)}`);
});

test('a two-platform index imports for the default platform and exports/re-imports for all', async () => {
  const index = makeMultiPlatform(layout, 'multi');
  const multiTar = await tarLayout(layout.dir, path.join(work, 'multi.tar'));
  const mLabels = async (cl: Client) =>
    Object.keys((await cl.call('content', 'Info', { digest: index.digest })).info.labels).filter((k) => k.startsWith('containerd.io/gc.ref.content.m.'));
  const idx0 = JSON.parse(fs.readFileSync(blobFile(layout.dir, index.digest), 'utf8'));
  const armConfig = JSON.parse(fs.readFileSync(blobFile(layout.dir, idx0.manifests[1].digest), 'utf8')).config.digest;

  // the default platform only: the other platform's content is not kept
  const one = client('multi-default');
  const first = await importArchive(one, multiTar, { baseName: 'test/multi' });
  expect(first.find((i) => i.name === 'test/multi:multi')!.target.digest).toBe(index.digest);
  expect(await mLabels(one)).toHaveLength(1);
  await collectGarbage(one);
  expect(await contentDigests(one)).not.toContain(armConfig);

  const c = client('multi');
  await importArchive(c, multiTar, { baseName: 'test/multi', allPlatforms: true });
  expect(await mLabels(c)).toHaveLength(2);
  await collectGarbage(c);
  expect(await contentDigests(c)).toContain(armConfig);

  const exported = path.join(work, 'multi-export.tar');
  await exportArchive(c, exported, ['test/multi:multi'], { allPlatforms: true });
  // umoci reads the export as a valid OCI layout
  const x = path.join(work, 'multi-export');
  fs.mkdirSync(x);
  await runOk('tar', ['-C', x, '-xf', exported]);
  expect((await runOk('umoci', ['ls', '--layout', x])).stdout).toContain('multi');
  const c2 = client('multi-again');
  const again = await importArchive(c2, exported, { allPlatforms: true });
  expect(again.map((i) => [i.name, i.target.digest])).toEqual([['test/multi:multi', index.digest]]);
  const idx = JSON.parse((await readBlob(c2, index.digest)).toString());
  for (const m of idx.manifests) expect((await c2.call('content', 'Info', { digest: m.digest })).info.size).toBe(m.size);
});

test('import hands the platform manifest, its config and layers to the installed Unpacker', async () => {
  const seen: UnpackRequest[] = [];
  setUnpacker({ unpack: async (_c, req) => (seen.push(req), { chainId: `chain-of-${req.layers.length}` }) });
  try {
    const c = client('unpack-seam');
    await importArchive(c, ociTar, { baseName: 'test/unpack', snapshotter: 'native' });
    expect(seen).toEqual([
      {
        image: 'test/unpack:latest',
        manifest: expect.objectContaining({ digest: layout.manifest.digest }),
        config: expect.objectContaining({ digest: manifest.config.digest }),
        layers: manifest.layers.map((l) => expect.objectContaining({ digest: l.digest })),
        snapshotter: 'native',
      },
    ]);
    seen.length = 0;
    await importArchive(c, ociTar, { baseName: 'test/unpack' }); // no snapshotter named: nothing to unpack
    expect(seen).toEqual([]);
  } finally {
    setUnpacker(undefined);
  }
});

describe('bad archives', () => {
  const c = () => client('bad');
  let before: string[];

  beforeAll(async () => {
    await importArchive(c(), ociTar, { baseName: 'test/keep' });
    await collectGarbage(c());
    before = await contentDigests(c());
  });

  afterEach(async () => {
    // whatever failed, what was committed before is intact and no ingest is left over
    await collectGarbage(c());
    expect(await contentDigests(c())).toEqual(before);
    expect((await c().call('content', 'ListStatuses', {})).statuses).toEqual([]);
    expect((await c().call('images', 'Get', { name: 'test/keep:latest' })).image.target.digest).toBe(layout.manifest.digest);
    for (const dg of before) await readBlob(c(), dg);
  });

  test('a truncated archive is InvalidArgument', async () => {
    const bytes = fs.readFileSync(ociTar);
    const cut = path.join(work, 'truncated.tar');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(importArchive(c(), cut, { baseName: 'test/cut' })).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/truncated|unexpected end/i) });
    await expect(c().call('images', 'Get', { name: 'test/cut:latest' })).rejects.toMatchObject({ kind: 'NotFound' });
  });

  test('a blob whose bytes do not match its name is FailedPrecondition', async () => {
    // a layer the store has never seen (a blob it already has is not read again)
    const fresh = await makeBusyboxLayout(fs.mkdtempSync(path.join(work, 'fresh-')), { extraBytes: 1 << 20 });
    const freshManifest = JSON.parse(fs.readFileSync(blobFile(fresh.dir, fresh.manifest.digest), 'utf8'));
    const dir = fresh.dir;
    const victim = blobFile(dir, freshManifest.layers[1].digest);
    const b = fs.readFileSync(victim);
    fs.chmodSync(victim, 0o644);
    b[b.length >> 1] ^= 0xff;
    fs.writeFileSync(victim, b);
    const tar = await tarLayout(dir, path.join(work, 'corrupt.tar'));
    await expect(importArchive(c(), tar, { baseName: 'test/corrupt' })).rejects.toMatchObject({
      kind: 'FailedPrecondition',
      message: expect.stringMatching(/corrupt archive: blobs\/sha256\/[0-9a-f]+ does not match its digest/),
    });
  });

  test('something that is not a tar is InvalidArgument; a missing file is NotFound', async () => {
    const junk = path.join(work, 'junk.tar');
    fs.writeFileSync(junk, Buffer.alloc(10000, 7));
    await expect(importArchive(c(), junk)).rejects.toMatchObject({ kind: 'InvalidArgument' });
    await expect(importArchive(c(), path.join(work, 'nope.tar'))).rejects.toMatchObject({ kind: 'NotFound' });
  });

  test('an archive whose index names a blob it lacks is NotFound', async () => {
    const dir = path.join(work, 'missing-layout');
    await runOk('cp', ['-a', layout.dir, dir]);
    fs.rmSync(blobFile(dir, manifest.config.digest), { force: true });
    const tar = await tarLayout(dir, path.join(work, 'missing.tar'));
    await expect(importArchive(c(), tar, { baseName: 'test/missing' })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringMatching(/missing from the archive/) });
  });
});
