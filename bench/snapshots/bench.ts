/**
 * Snapshotter and diff benchmarks, beside containerd 1.6 in the same run.
 *
 *   bench/snapshots/run.sh            (bundles this file with esbuild, runs it as root)
 *
 * 1. chain: Prepare + Mounts + Remove of an active snapshot on top of a 10-deep
 *    committed chain, overlayfs. Three ways:
 *      a. `ctr snapshots` → a private containerd (its own root, socket)
 *      b. the same `ctr snapshots` → berth's Snapshots service (gRPC server in this process)
 *      c. berth's library, in process
 *    (a) vs (b) is the like-for-like ratio: same client, same wire.
 * 2. unpack: Apply of a ~40 MB gzip layer (made here: 4000 files) onto an overlayfs
 *    snapshot — berth's DiffService.apply vs containerd unpacking the same layer
 *    (`ctr images import` of a one-layer OCI archive; that time includes the ingest,
 *    so the ingest alone — `ctr images import --no-unpack` — is subtracted) and
 *    GNU tar -xzf onto a plain directory as a floor.
 * Median of RUNS (≥ 5) runs each; ratios are berth / peer (lower is better).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { LocalContentStore } from '../../supervisor/src/diff/content';
import { DiffService } from '../../supervisor/src/diff/local';
import { MediaTypes } from '../../supervisor/src/diff/compression';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import { loadSnapshotsService, snapshotsService } from '../../supervisor/src/snapshots/service';

const execFileP = promisify(execFile);
const RUNS = Math.max(5, parseInt(process.env.RUNS ?? '7', 10));
const OPS = parseInt(process.env.OPS ?? '20', 10);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function startContainerd(dir: string): Promise<{ sock: string; proc: ChildProcess }> {
  const sock = path.join(dir, 'containerd.sock');
  const config = `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.btrfs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  address = "${dir}/debug.sock"
[metrics]
  address = ""
`;
  fs.writeFileSync(path.join(dir, 'config.toml'), config);
  const proc = spawn('containerd', ['--config', path.join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'containerd.log'), 'w')] });
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  if (!fs.existsSync(sock)) throw new Error(`containerd did not start (see ${dir}/containerd.log)`);
  return { sock, proc };
}

async function ctr(sock: string, ...args: string[]): Promise<string> {
  return (await execFileP('ctr', ['--address', sock, '--namespace', 'bench', ...args], { maxBuffer: 1 << 26 })).stdout;
}

async function chainBench(tmp: string, csock: string): Promise<Record<string, number>> {
  // berth's service over gRPC, for the same ctr client.
  const sn = await OverlaySnapshotter.open(path.join(tmp, 'berth-overlay'));
  const server = new grpc.Server();
  server.addService(loadSnapshotsService(), snapshotsService(new Map([['overlayfs', sn]])));
  const bsock = path.join(tmp, 'berth.sock');
  await new Promise<void>((res, rej) => server.bindAsync(`unix://${bsock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  const s = ['snapshots', '--snapshotter', 'overlayfs'];
  for (const sock of [csock, bsock]) {
    let parent = '';
    for (let i = 0; i < 10; i++) {
      await ctr(sock, ...s, 'prepare', `l${i}-a`, parent);
      await ctr(sock, ...s, 'commit', `l${i}`, `l${i}-a`);
      parent = `l${i}`;
    }
  }
  /** One Prepare + Mounts + Remove through ctr, in ms. */
  const viaCtr = async (sock: string): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await ctr(sock, ...s, 'prepare', 'top', 'l9');
    await ctr(sock, ...s, 'mounts', '/mnt', 'top');
    await ctr(sock, ...s, 'rm', 'top');
    return ms(t0);
  };
  const lib = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS * 10; i++) {
      await sn.prepare('top-lib', 'l9');
      await sn.mounts('top-lib');
      await sn.remove('top-lib');
    }
    return ms(t0) / (OPS * 10);
  };
  // Interleaved op by op, so that load changes on a shared machine hit both sides alike.
  const c: number[] = [];
  const b: number[] = [];
  const l: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let tc = 0;
    let tb = 0;
    for (let i = 0; i < OPS; i++) {
      tc += await viaCtr(csock);
      tb += await viaCtr(bsock);
    }
    c.push(tc / OPS);
    b.push(tb / OPS);
    l.push(await lib());
  }
  await new Promise<void>((r) => server.tryShutdown(() => r()));
  await sn.close();
  return { containerdCtrMs: median(c), berthCtrMs: median(b), berthLibraryMs: median(l) };
}

/** A ~40 MB layer: 4000 files of 1–20 KB of random bytes (incompressible, like binaries). */
function makeLayer(dir: string): string {
  fs.mkdirSync(dir);
  for (let d = 0; d < 40; d++) {
    fs.mkdirSync(path.join(dir, `d${d}`));
    for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(dir, `d${d}`, `f${f}`), crypto.randomBytes(1024 + ((d * 100 + f) * 4093) % 19456));
  }
  return dir;
}

async function ociArchive(tmp: string, layerGz: Buffer, diffId: string): Promise<string> {
  const dir = path.join(tmp, 'oci');
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer): { digest: string; size: number } => {
    const hex = crypto.createHash('sha256').update(b).digest('hex');
    fs.writeFileSync(path.join(blobs, hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const layer = put(layerGz);
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] }, config: {} })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: MediaTypes.layerGzip, ...layer }],
  })));
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest', 'io.containerd.image.name': 'bench/layer:latest' } }],
  }));
  const tar = path.join(tmp, 'image.tar');
  await execFileP('tar', ['-C', dir, '-cf', tar, '.']);
  return tar;
}

async function unpackBench(tmp: string, csock: string): Promise<Record<string, number>> {
  const src = makeLayer(path.join(tmp, 'layer-src'));
  const tar = (await execFileP('tar', ['-C', src, '--sort=name', '--owner=0', '--group=0', '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout as Buffer;
  const gz = zlib.gzipSync(tar, { level: 1 });
  const diffId = `sha256:${crypto.createHash('sha256').update(tar).digest('hex')}`;
  const store = new LocalContentStore(path.join(tmp, 'content'));
  const w = await store.writer('layer');
  await w.write(gz);
  const digest = `sha256:${crypto.createHash('sha256').update(gz).digest('hex')}`;
  await w.commit(gz.length, digest);
  const desc = { mediaType: MediaTypes.layerGzip, digest, size: gz.length };
  const diff = new DiffService(store);
  const sn = await OverlaySnapshotter.open(path.join(tmp, 'berth-unpack'));
  await sn.prepare('base-a', '');
  await sn.commit('base', 'base-a');
  const image = await ociArchive(tmp, gz, diffId);
  fs.writeFileSync(path.join(tmp, 'layer.tar.gz'), gz);

  const berth: number[] = [];
  const containerd: number[] = [];
  const ingestOnly: number[] = [];
  const gnuTar: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t0 = process.hrtime.bigint();
    const m = await sn.prepare(`u${r}`, 'base');
    await diff.apply(desc, m);
    berth.push(ms(t0));
    await sn.remove(`u${r}`);

    await ctr(csock, 'images', 'rm', '--sync', 'bench/layer:latest').catch(() => undefined);
    await ctr(csock, 'content', 'prune', 'references').catch(() => undefined);
    t0 = process.hrtime.bigint();
    await ctr(csock, 'images', 'import', '--no-unpack', '--snapshotter', 'overlayfs', image);
    ingestOnly.push(ms(t0));
    await ctr(csock, 'images', 'rm', '--sync', 'bench/layer:latest');
    for (const k of (await ctr(csock, 'snapshots', '--snapshotter', 'overlayfs', 'ls')).split('\n').slice(1)) {
      const key = k.split(/\s+/)[0];
      if (key.startsWith('sha256:')) await ctr(csock, 'snapshots', '--snapshotter', 'overlayfs', 'rm', key).catch(() => undefined);
    }
    t0 = process.hrtime.bigint();
    await ctr(csock, 'images', 'import', '--snapshotter', 'overlayfs', image);
    containerd.push(ms(t0));
    await ctr(csock, 'images', 'rm', '--sync', 'bench/layer:latest');
    for (const k of (await ctr(csock, 'snapshots', '--snapshotter', 'overlayfs', 'ls')).split('\n').slice(1)) {
      const key = k.split(/\s+/)[0];
      if (key.startsWith('sha256:')) await ctr(csock, 'snapshots', '--snapshotter', 'overlayfs', 'rm', key).catch(() => undefined);
    }

    const out = path.join(tmp, `gnu-${r}`);
    fs.mkdirSync(out);
    t0 = process.hrtime.bigint();
    await execFileP('tar', ['-xzf', path.join(tmp, 'layer.tar.gz'), '-C', out]);
    gnuTar.push(ms(t0));
    fs.rmSync(out, { recursive: true });
  }
  await sn.close();
  return {
    layerMB: gz.length / 1e6,
    berthApplyMs: median(berth),
    containerdImportMs: median(containerd),
    containerdIngestOnlyMs: median(ingestOnly),
    containerdUnpackMs: median(containerd) - median(ingestOnly),
    gnuTarMs: median(gnuTar),
  };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-snapshots-'));
  const cdir = path.join(tmp, 'containerd');
  fs.mkdirSync(cdir);
  const { sock, proc } = await startContainerd(cdir);
  try {
    const chain = await chainBench(tmp, sock);
    const unpack = await unpackBench(tmp, sock);
    const round = (x: number): number => Math.round(x * 100) / 100;
    const result = {
      runs: RUNS,
      chain10: {
        ...Object.fromEntries(Object.entries(chain).map(([k, v]) => [k, round(v)])),
        ratioBerthVsContainerdSameCtr: round(chain.berthCtrMs / chain.containerdCtrMs),
      },
      unpack: {
        ...Object.fromEntries(Object.entries(unpack).map(([k, v]) => [k, round(v)])),
        ratioBerthVsContainerdUnpack: round(unpack.berthApplyMs / unpack.containerdUnpackMs),
        ratioBerthVsGnuTar: round(unpack.berthApplyMs / unpack.gnuTarMs),
      },
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    // containerd leaves overlay mounts of nothing here (no containers), but check before removing.
    const mounted = fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(tmp);
    if (!mounted) fs.rmSync(tmp, { recursive: true, force: true });
    else console.error(`left ${tmp} (something is still mounted below it)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
