/**
 * The Snapshots and Diff services over the wire: the conformance suite run
 * through the gRPC adapter (a proxy client, as containerd's snapshots/proxy),
 * the real `ctr snapshots` against it, and Diff.Apply/Diff over gRPC.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { kindOf } from '../../proto/src/errdefs';
import { protoDir } from '../../proto/src/loader';
import { LocalContentStore } from '../../supervisor/src/diff/content';
import { DiffService } from '../../supervisor/src/diff/local';
import { diffService, DIFF_PROTO, loadDiffService } from '../../supervisor/src/diff/service';
import { NativeSnapshotter } from '../../supervisor/src/snapshots/native/native';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import { SnapshotterProxy } from '../../supervisor/src/snapshots/proxy';
import { loadSnapshotsService, PROTO_LOADER_OPTIONS, snapshotsService, type SnapshotEvent } from '../../supervisor/src/snapshots/service';
import type { Snapshotter } from '../../supervisor/src/snapshots/snapshotter';
import { snapshotterSuite } from '../../supervisor/src/snapshots/testsuite/testsuite';

const execFileP = promisify(execFile);

async function serve(snapshotters: Map<string, Snapshotter>, sock: string, extra?: (s: grpc.Server) => void, publish?: (e: SnapshotEvent) => void): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(loadSnapshotsService(), snapshotsService(snapshotters, { publish }));
  extra?.(server);
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${sock}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return server;
}

const stop = (s: grpc.Server): Promise<void> => new Promise((r) => s.tryShutdown(() => r()));

const skip = process.getuid?.() === 0 ? undefined : 'needs root (mount)';

snapshotterSuite(
  'overlayfs-over-grpc',
  async (root) => {
    const backend = await OverlaySnapshotter.open(root);
    const sock = `${root}.sock`;
    await fs.promises.rm(sock, { force: true });
    const server = await serve(new Map([['overlayfs', backend]]), sock);
    const proxy = new SnapshotterProxy(`unix://${sock}`, 'overlayfs');
    const close = proxy.close.bind(proxy);
    proxy.close = async () => {
      await close();
      await stop(server);
      await backend.close();
    };
    return { snapshotter: proxy };
  },
  {
    skip,
    orphan: async (root) => {
      const p = path.join(root, 'snapshots', '999999');
      await fs.promises.mkdir(path.join(p, 'fs'), { recursive: true });
      return async () => fs.existsSync(p);
    },
    // ~1500 gRPC round trips and 128 mounts: the same as in-process, only slower.
    exclude: { '128LayersMount': 'run in-process by snapshots-overlay.test.ts; over gRPC it adds only round trips' },
  },
);

(skip ? describe.skip : describe)('ctr snapshots against the berth Snapshots service', () => {
  let tmp: string;
  let server: grpc.Server;
  let sock: string;
  const events: SnapshotEvent[] = [];
  const sns = new Map<string, Snapshotter>();

  beforeAll(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'snapshots-ctr-'));
    sns.set('overlayfs', await OverlaySnapshotter.open(path.join(tmp, 'overlayfs')));
    sns.set('native', await NativeSnapshotter.open(path.join(tmp, 'native')));
    sock = path.join(tmp, 'berthd.sock');
    server = await serve(sns, sock, undefined, (e) => events.push(e));
  });
  afterAll(async () => {
    await stop(server);
    for (const sn of sns.values()) await sn.close();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  const ctr = async (...args: string[]): Promise<string> => (await execFileP('ctr', ['--address', sock, '--namespace', 'berth-test', ...args], { timeout: 20_000 })).stdout;

  it.each(['overlayfs', 'native'])('prepare, commit, info, ls, usage, label, mounts and rm work through ctr (%s)', async (name) => {
    const s = ['snapshots', '--snapshotter', name];
    await ctr(...s, 'prepare', 'base-a', '');
    await ctr(...s, 'commit', 'base', 'base-a');
    await ctr(...s, 'prepare', 'child', 'base');
    const info = JSON.parse(await ctr(...s, 'info', 'child')) as { Kind: string; Name: string; Parent: string };
    expect(info).toMatchObject({ Kind: 'Active', Name: 'child', Parent: 'base' });
    const ls = await ctr(...s, 'ls');
    expect(ls).toMatch(/child\s+base\s+Active/);
    expect(ls).toMatch(/base\s+Committed/);
    await ctr(...s, 'label', 'child', 'l=1');
    expect(JSON.parse(await ctr(...s, 'info', 'child')).Labels).toMatchObject({ l: '1' }); // ctr adds its gc.root label
    expect(await ctr(...s, 'usage', 'child')).toMatch(/child/);
    expect(await ctr(...s, 'mounts', '/mnt/x', 'child')).toMatch(/^mount -t (overlay|bind)/);
    const rmParent = await ctr(...s, 'rm', 'base').then(() => '', (e: { stderr: string }) => e.stderr);
    expect(rmParent).toMatch(/failed precondition|FailedPrecondition|children/);
    await ctr(...s, 'rm', 'child');
    await ctr(...s, 'rm', 'base');
    expect((await ctr(...s, 'ls')).trim().split('\n')).toHaveLength(1); // the header only
    const missing = await ctr(...s, 'info', 'nope').then(() => '', (e: { stderr: string }) => e.stderr);
    expect(missing).toMatch(/not found/);
  });

  it('publishes snapshot events', () => {
    expect(events).toEqual(expect.arrayContaining([
      { topic: '/snapshot/prepare', event: { key: 'base-a', parent: '' } },
      { topic: '/snapshot/commit', event: { key: 'base-a', name: 'base' } },
      { topic: '/snapshot/remove', event: { key: 'child' } },
    ]));
  });

  it('refuses an unknown snapshotter with InvalidArgument', async () => {
    const proxy = new SnapshotterProxy(`unix://${sock}`, 'zfs');
    const err = await proxy.stat('x').then(() => undefined, (e: unknown) => e);
    await proxy.close();
    expect(String(err)).toMatch(/snapshotter not loaded: zfs/);
    expect(kindOf(err)).toBe('InvalidArgument');
  });
});

(skip ? describe.skip : describe)('Diff service over gRPC', () => {
  it('applies a layer and diffs it back', async () => {
    const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'diff-grpc-'));
    const sn = await NativeSnapshotter.open(path.join(tmp, 'native'));
    const store = new LocalContentStore(path.join(tmp, 'content'));
    const sock = path.join(tmp, 'd.sock');
    const server = await serve(new Map([['native', sn]]), sock, (s) => s.addService(loadDiffService(), diffService(new DiffService(store))));
    const pkg = protoLoader.loadSync(DIFF_PROTO, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
    const Diff = (grpc.loadPackageDefinition(pkg) as unknown as { containerd: { services: { diff: { v1: { Diff: grpc.ServiceClientConstructor } } } } }).containerd.services.diff.v1.Diff;
    const client = new Diff(`unix://${sock}`, grpc.credentials.createInsecure()) as unknown as Record<string, (req: unknown, cb: (e: grpc.ServiceError | null, r: { applied?: { digest: string }; diff?: { digest: string; mediaType: string; size: number } }) => void) => void> & grpc.Client;
    const call = (m: string, req: unknown) => new Promise<{ applied?: { digest: string }; diff?: { digest: string; mediaType: string; size: number } }>((res, rej) => client[m](req, (e, r) => (e ? rej(e) : res(r))));
    try {
      const src = await sn.prepare('src', '');
      fs.writeFileSync(path.join(src[0].source, 'hello'), 'world');
      const d = await call('Diff', { left: [], right: src, mediaType: '', ref: 'r1', labels: {} });
      expect(d.diff?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const dst = await sn.prepare('dst', '');
      const a = await call('Apply', { diff: d.diff, mounts: dst });
      expect(a.applied?.digest).toBe(store.labels(d.diff!.digest)['containerd.io/uncompressed']);
      expect(fs.readFileSync(path.join(dst[0].source, 'hello'), 'utf8')).toBe('world');
      const bad = await call('Apply', { diff: { ...d.diff, mediaType: 'application/x-nope' }, mounts: dst }).catch((e: grpc.ServiceError) => e);
      expect((bad as grpc.ServiceError).code).toBe(grpc.status.UNIMPLEMENTED);
      const missing = await call('Apply', { diff: { ...d.diff, digest: `sha256:${crypto.randomBytes(32).toString('hex')}` }, mounts: dst }).catch((e: grpc.ServiceError) => e);
      expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
      await stop(server);
      await sn.close();
      await fs.promises.rm(tmp, { recursive: true, force: true });
    }
  });
});
