/**
 * Snapshotter and diff benchmarks, beside containerd 1.6 in the same run.
 *
 *   bench/snapshots/run.sh            (bundles this file with esbuild, runs it as root)
 *
 * 1. chain: Prepare + Mounts + Remove of an active snapshot on top of a 10-deep
 *    committed chain, overlayfs. Three ways:
 *      a. `ctr snapshots` → a private containerd (its own root, socket)
 *      b. the same `ctr snapshots` → berthd (its own root, socket)
 *      c. berth's library, in process
 *    (a) vs (b) is the like-for-like ratio: same client, same wire, a daemon each;
 *    with each daemon's CPU per triple. First WARMUP (300) triples per
 *    daemon through ctr, in the same blocks, timed apart: berthd's
 *    JavaScript is compiled as it runs and takes a few hundred requests to
 *    reach its optimised code (containerd is compiled ahead of time), so the
 *    warm-up's own figures are the cold ones, and the measured blocks see a
 *    daemon that has been serving. Run in blocks of OPS triples per daemon
 *    (alternating which goes first, a pause before each): a daemon's work
 *    after a command lands on its own next command, as for its user.
 *      d. berth's gRPC client (one connection, no process start-up) → each daemon:
 *         the daemons' own latency, which ctr's ~12 ms start-up per call hides in noise.
 *    Where a difference comes from: each operation alone over that connection
 *    (median of OPS × RUNS), and a fresh connection + one Version call, which
 *    every ctr command pays once.
 * 2. unpack of a ~40 MB gzip layer (made here: 4000 files) into overlayfs:
 *    `ctr images import` of a one-layer OCI archive into berthd and into
 *    containerd, each minus its own `--no-unpack` import (the ingest), so the
 *    unpack alone (Stat, Prepare, Diff.Apply, Commit, labels) is compared;
 *    plus berth's DiffService.apply in process and GNU tar -xzf onto a plain
 *    directory as a floor. Between runs the image is removed with --sync and
 *    the daemon waited on until its snapshots are gone; before each timed step
 *    `sync` and a 200 ms pause, so that no step pays another's writeback.
 * 3. floor (BENCH_ONLY=floor for this part alone): \`ctr version\` (a new
 *    connection, two unary calls) against containerd, berthd and a minimal
 *    gRPC responder on node:http2 (FLOOR_SERVER below: canned answers, no
 *    grpc-js, no work), in blocks of OPS commands per server, rotating; wall time per command
 *    and each server's CPU per command (utime + stime from /proc). What a
 *    server on node:http2 costs per connection and call, whatever runs on it.
 * Median of RUNS (≥ 5) runs each; ratios are berth / peer (lower is better).
 * BENCH_BERTHD_CONFIG, _ENV and _NODE_ARGS try a setting of berthd (bench/support/berthd-env.ts).
 * Figures and how to read them: RESULTS.md beside this file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { berthdOptionsFromEnv } from '../support/berthd-env';
import { measure, median } from '../support/measure';
import * as zlib from 'node:zlib';
import { Client } from '../../supervisor/src/client/client';
import { RemoteSnapshotter } from '../../supervisor/src/client/snapshots';
import { DiffService } from '../../supervisor/src/diff/local';
import { MediaTypes } from '../../supervisor/src/diff/compression';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import { TestContent } from '../../test/supervisor/support/content';
import { startBerthd, type Daemon } from '../../test/supervisor/support/daemon';

const execFileP = promisify(execFile);
const RUNS = Math.max(5, parseInt(process.env.RUNS ?? '7', 10));
const OPS = parseInt(process.env.OPS ?? '20', 10);
const WARMUP = parseInt(process.env.WARMUP ?? '300', 10);

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

/** Between blocks: the previous daemon's last command finishes its work outside the next block. */
const PAUSE_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function chainBench(tmp: string, c: { sock: string; pid: number }, b: { sock: string; pid: number }): Promise<Record<string, number>> {
  const csock = c.sock;
  const bsock = b.sock;
  const sn = await OverlaySnapshotter.open(path.join(tmp, 'berth-overlay'));
  const s = ['snapshots', '--snapshotter', 'overlayfs'];
  for (const sock of [csock, bsock]) {
    let parent = '';
    for (let i = 0; i < 10; i++) {
      await ctr(sock, ...s, 'prepare', `l${i}-a`, parent);
      await ctr(sock, ...s, 'commit', `l${i}`, `l${i}-a`);
      parent = `l${i}`;
    }
  }
  for (let i = 0, parent = ''; i < 10; parent = `l${i}`, i++) {
    await sn.prepare(`l${i}-a`, parent);
    await sn.commit(`l${i}`, `l${i}-a`);
  }
  /** One Prepare + Mounts + Remove through ctr, in ms. */
  const viaCtr = async (sock: string): Promise<number> => {
    const t0 = process.hrtime.bigint();
    await ctr(sock, ...s, 'prepare', 'top', 'l9');
    await ctr(sock, ...s, 'mounts', '/mnt', 'top');
    await ctr(sock, ...s, 'rm', 'top');
    return ms(t0);
  };
  // Under a lease, as ctr works: an active snapshot nothing references is the GC's to take.
  const clients = new Map<string, RemoteSnapshotter>();
  for (const sock of [csock, bsock]) {
    const client = new Client(sock, 'bench');
    client.lease = (await client.call('leases', 'Create', { labels: { 'containerd.io/gc.expire': new Date(Date.now() + 3600e3).toISOString() } })).lease.id;
    clients.set(sock, new RemoteSnapshotter(client, 'overlayfs'));
  }
  /** OPS × (Prepare + Mounts + Remove) through one gRPC connection, ms per triple. */
  const viaGrpc = async (sock: string): Promise<number> => {
    const r = clients.get(sock)!;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) {
      await r.prepare('top-grpc', 'l9');
      await r.mounts('top-grpc');
      await r.remove('top-grpc');
    }
    return ms(t0) / OPS;
  };
  for (const sock of [csock, bsock]) await viaGrpc(sock); // connect and warm up
  /** Each operation alone, ms: [prepare, mounts, remove]. */
  const perOp = async (sock: string): Promise<number[]> => {
    const r = clients.get(sock)!;
    const t = (fn: () => Promise<unknown>) => async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await fn();
      return ms(t0);
    };
    return [await t(() => r.prepare('top-op', 'l9'))(), await t(() => r.mounts('top-op'))(), await t(() => r.remove('top-op'))()];
  };
  /** A new connection and one Version call, ms (what each ctr command pays before its call). */
  const fresh = async (sock: string): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const cl = new Client(sock, 'bench');
    await cl.call('version', 'Version', {});
    const d = ms(t0);
    cl.close();
    return d;
  };
  const ops = new Map<string, number[][]>([[csock, [[], [], []]], [bsock, [[], [], []]]]);
  const conns = new Map<string, number[]>([[csock, []], [bsock, []]]);
  // Apart: a connection's teardown in the daemon would land on the next operation.
  for (let i = 0; i < OPS * RUNS; i++) {
    for (const sock of [csock, bsock]) (await perOp(sock)).forEach((v, k) => ops.get(sock)![k].push(v));
  }
  for (let i = 0; i < OPS * RUNS; i++) {
    for (const sock of [csock, bsock]) conns.get(sock)!.push(await fresh(sock));
  }
  const lib = async (): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS * 10; i++) {
      await sn.prepare('top-lib', 'l9');
      await sn.mounts('top-lib');
      await sn.remove('top-lib');
      await sn.cleanup(); // the daemon's collection after a Remove: the directory goes here
    }
    return ms(t0) / (OPS * 10);
  };
  // In blocks of OPS triples, one daemon after the other, the order
  // alternating from round to round (load changes on a shared machine hit both
  // sides alike). Not triple by triple: a daemon's work after a command — its
  // garbage collection after Remove, a closing connection, its language
  // runtime's collector — would land on the other daemon's next command (on 2
  // cores it competes with ctr's start-up), where a user of one daemon pays for
  // it on its own next command. With the daemons' CPU per triple (from /proc).
  const ctrBlock = async (d: { sock: string; pid: number }): Promise<{ ms: number; cpuMs: number }> => {
    await sleep(PAUSE_MS);
    const cpu0 = cpuMs(d.pid);
    let t = 0;
    for (let i = 0; i < OPS; i++) t += await viaCtr(d.sock);
    return { ms: t / OPS, cpuMs: (cpuMs(d.pid) - cpu0) / OPS };
  };
  const grpcBlock = async (sock: string): Promise<number> => {
    await sleep(PAUSE_MS);
    return viaGrpc(sock);
  };
  /**
   * WARMUP triples per daemon, in the same alternating blocks as below: wall
   * and CPU per triple (means: the cold phase is a trend, not a level).
   */
  const warm = new Map<number, { ms: number; cpuMs: number }>([[c.pid, { ms: 0, cpuMs: 0 }], [b.pid, { ms: 0, cpuMs: 0 }]]);
  /** Round r's order: containerd first in even rounds, berthd in odd ones. */
  const order = <T>(r: number, cx: T, bx: T): T[] => (r % 2 ? [bx, cx] : [cx, bx]);
  const warmBlocks = Math.ceil(WARMUP / OPS);
  for (let r = 0; r < warmBlocks; r++) {
    for (const d of order(r, c, b)) {
      const x = await ctrBlock(d);
      const w = warm.get(d.pid)!;
      w.ms += x.ms / warmBlocks;
      w.cpuMs += x.cpuMs / warmBlocks;
    }
  }
  const ct: number[] = [];
  const bt: number[] = [];
  const ccpu: number[] = [];
  const bcpu: number[] = [];
  const l: number[] = [];
  const gc: number[] = [];
  const gb: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const d of order(r, c, b)) {
      const x = await ctrBlock(d);
      (d === c ? ct : bt).push(x.ms);
      (d === c ? ccpu : bcpu).push(x.cpuMs);
    }
    for (const sock of order(r, csock, bsock)) (sock === csock ? gc : gb).push(await grpcBlock(sock));
    l.push(await lib());
  }
  await sn.close();
  for (const sock of [csock, bsock]) for (let i = 9; i >= 0; i--) await ctr(sock, ...s, 'rm', `l${i}`);
  const opMs = (sock: string, k: number): number => median(ops.get(sock)![k]);
  return {
    containerdCtrMs: median(ct), berthdCtrMs: median(bt), containerdCpuMsPerCtrTriple: median(ccpu), berthdCpuMsPerCtrTriple: median(bcpu),
    warmupTriples: warmBlocks * OPS, containerdWarmupCtrMs: warm.get(c.pid)!.ms, berthdWarmupCtrMs: warm.get(b.pid)!.ms,
    containerdWarmupCpuMsPerCtrTriple: warm.get(c.pid)!.cpuMs, berthdWarmupCpuMsPerCtrTriple: warm.get(b.pid)!.cpuMs,
    containerdGrpcMs: median(gc), berthdGrpcMs: median(gb), berthLibraryMs: median(l),
    containerdPrepareMs: opMs(csock, 0), berthdPrepareMs: opMs(bsock, 0),
    containerdMountsMs: opMs(csock, 1), berthdMountsMs: opMs(bsock, 1),
    containerdRemoveMs: opMs(csock, 2), berthdRemoveMs: opMs(bsock, 2),
    containerdFreshConnectionVersionMs: median(conns.get(csock)!), berthdFreshConnectionVersionMs: median(conns.get(bsock)!),
  };
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

/** Removes the image and waits until the daemon's GC has removed its snapshots (not timed). */
async function clean(sock: string): Promise<void> {
  await ctr(sock, 'images', 'rm', '--sync', 'bench/layer:latest').catch(() => undefined);
  for (let i = 0; i < 200; i++) {
    if ((await ctr(sock, 'snapshots', '--snapshotter', 'overlayfs', 'ls')).trim().split('\n').length <= 1) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`snapshots left on ${sock}`);
}

async function unpackBench(tmp: string, csock: string, bsock: string): Promise<Record<string, number>> {
  const src = makeLayer(path.join(tmp, 'layer-src'));
  const tar = (await execFileP('tar', ['-C', src, '--sort=name', '--owner=0', '--group=0', '-cf', '-', '.'], { encoding: 'buffer', maxBuffer: 1 << 28 })).stdout as Buffer;
  const gz = zlib.gzipSync(tar, { level: 1 });
  const diffId = `sha256:${crypto.createHash('sha256').update(tar).digest('hex')}`;
  const store = new TestContent(path.join(tmp, 'content'));
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

  /**
   * Before each timed step: the previous steps' dirty pages written back (and
   * their deletions done), so that no step pays for another's writeback —
   * the figures followed the page cache's state more than the daemons.
   */
  const settle = async (): Promise<void> => {
    await execFileP('sync');
    await sleep(200);
  };
  const importMs = async (sock: string, ...flags: string[]): Promise<number> => {
    await clean(sock);
    await settle();
    const t0 = process.hrtime.bigint();
    await ctr(sock, 'images', 'import', ...flags, '--snapshotter', 'overlayfs', image);
    const t = ms(t0);
    await clean(sock);
    return t;
  };
  const r: Record<string, number[]> = { lib: [], gnuTar: [], bImport: [], bIngest: [], cImport: [], cIngest: [] };
  for (let i = 0; i < RUNS; i++) {
    const m = await sn.prepare(`u${i}`, 'base');
    await settle();
    let t0 = process.hrtime.bigint();
    await diff.apply(desc, m);
    r.lib.push(ms(t0));
    await sn.remove(`u${i}`);
    await sn.cleanup(); // the directory goes here (overlay's Remove keeps it until a cleanup, as containerd's)
    // interleaved, so that load changes on a shared machine hit both daemons alike
    r.cIngest.push(await importMs(csock, '--no-unpack'));
    r.bIngest.push(await importMs(bsock, '--no-unpack'));
    r.cImport.push(await importMs(csock));
    r.bImport.push(await importMs(bsock));
    const out = path.join(tmp, `gnu-${i}`);
    fs.mkdirSync(out);
    await settle();
    t0 = process.hrtime.bigint();
    await execFileP('tar', ['-xzf', path.join(tmp, 'layer.tar.gz'), '-C', out]);
    r.gnuTar.push(ms(t0));
    fs.rmSync(out, { recursive: true });
  }
  await sn.close();
  await store.close();
  const med = (k: string) => median(r[k]);
  return {
    layerMB: gz.length / 1e6,
    berthdImportMs: med('bImport'),
    berthdIngestOnlyMs: med('bIngest'),
    berthdUnpackMs: med('bImport') - med('bIngest'),
    containerdImportMs: med('cImport'),
    containerdIngestOnlyMs: med('cIngest'),
    containerdUnpackMs: med('cImport') - med('cIngest'),
    berthLibraryApplyMs: med('lib'),
    gnuTarMs: med('gnuTar'),
  };
}

/**
 * The least a gRPC server on node:http2 can do: answer every unary call with
 * a canned message (VersionResponse{version, revision}; other methods decode
 * it as they can) and status OK, the way grpc-js does — headers, the message,
 * then trailers once Node asks for them.
 */
const FLOOR_SERVER = `
const http2 = require('node:http2');
const msg = Buffer.concat([Buffer.from([0x0a, 5]), Buffer.from('floor'), Buffer.from([0x12, 1]), Buffer.from('0')]);
const frame = Buffer.alloc(5 + msg.length);
frame.writeUInt32BE(msg.length, 1);
msg.copy(frame, 5);
const server = http2.createServer();
server.on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
    stream.end(frame);
  });
});
server.listen(process.argv[1]);
process.on('SIGTERM', () => process.exit(0));
`;

/** CPU time (user + system) of a process so far, ms. */
function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14, 15 (clock ticks of 1/100 s)
}

async function floorBench(tmp: string, daemons: { name: string; sock: string; pid: number }[]): Promise<Record<string, number>> {
  const sock = path.join(tmp, 'floor.sock');
  const floor = spawn(process.execPath, ['-e', FLOOR_SERVER, sock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
    if (!fs.existsSync(sock)) throw new Error('the node:http2 floor server did not start');
    const servers = [...daemons, { name: 'nodeHttp2Floor', sock, pid: floor.pid! }];
    const warmup = 1;
    const cpu0 = servers.map((x) => cpuMs(x.pid));
    // In blocks of OPS commands per server (see chainBench): RUNS rounds.
    const blocks = { block: OPS, pauseMs: PAUSE_MS };
    const times = measure(servers.map((x) => ({ name: x.name, cmd: ['ctr', '--address', x.sock, 'version'] })), RUNS, warmup, blocks);
    const cpu = servers.map((x, i) => (cpuMs(x.pid) - cpu0[i]) / ((RUNS + warmup) * OPS)); // the CPU counters see the warm-up too
    const out: Record<string, number> = {};
    servers.forEach((x, i) => {
      out[`${x.name}CtrVersionMs`] = median(times.get(x.name)!);
      out[`${x.name}CpuMsPerCommand`] = cpu[i];
    });
    return out;
  } finally {
    floor.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-snapshots-'));
  const cdir = path.join(tmp, 'containerd');
  fs.mkdirSync(cdir);
  const { sock, proc } = await startContainerd(cdir);
  let berthd: Daemon | undefined;
  try {
    berthd = await startBerthd({ dir: fs.mkdtempSync(path.join(tmp, 'berthd-')), ...berthdOptionsFromEnv() });
    const only = process.env.BENCH_ONLY; // chain | floor: that part alone (unpack takes minutes)
    const chain = only === undefined || only === 'chain' ? await chainBench(tmp, { sock, pid: proc.pid! }, { sock: berthd.address, pid: berthd.proc.pid! }) : undefined;
    const floor = only === undefined || only === 'floor'
      ? await floorBench(tmp, [{ name: 'containerd', sock, pid: proc.pid! }, { name: 'berthd', sock: berthd.address, pid: berthd.proc.pid! }])
      : undefined;
    const unpack = only === undefined ? await unpackBench(tmp, sock, berthd.address) : undefined;
    const round = (x: number): number => Math.round(x * 100) / 100;
    const result = {
      runs: RUNS,
      chain10: chain && {
        ...Object.fromEntries(Object.entries(chain).map(([k, v]) => [k, round(v)])),
        ratioBerthdVsContainerdSameCtr: round(chain.berthdCtrMs / chain.containerdCtrMs),
        ratioWarmupSameCtr: round(chain.berthdWarmupCtrMs / chain.containerdWarmupCtrMs),
        ratioBerthdVsContainerdSameGrpcClient: round(chain.berthdGrpcMs / chain.containerdGrpcMs),
      },
      floor: floor && {
        ...Object.fromEntries(Object.entries(floor).map(([k, v]) => [k, round(v)])),
        ratioBerthdVsContainerd: round(floor.berthdCtrVersionMs / floor.containerdCtrVersionMs),
        ratioNodeHttp2FloorVsContainerd: round(floor.nodeHttp2FloorCtrVersionMs / floor.containerdCtrVersionMs),
      },
      unpack: unpack && {
        ...Object.fromEntries(Object.entries(unpack).map(([k, v]) => [k, round(v)])),
        ratioBerthdVsContainerdUnpack: round(unpack.berthdUnpackMs / unpack.containerdUnpackMs),
        ratioBerthdVsContainerdImportWithUnpack: round(unpack.berthdImportMs / unpack.containerdImportMs),
        ratioBerthLibraryVsGnuTar: round(unpack.berthLibraryApplyMs / unpack.gnuTarMs),
      },
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await berthd?.stop();
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
