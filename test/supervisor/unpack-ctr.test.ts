/**
 * Images unpack into berthd's snapshotters, driven by the real ctr
 * (containerd 1.6) and by berthctl: import (with unpack, the default), pull
 * --plain-http from a local docker-registry, images check, ctr run on the
 * rootfs snapshot, garbage collection of a deleted image's snapshots, and a
 * lease protecting a prepared snapshot.
 * BERTH_DAEMON=containerd runs the same against a private containerd.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RemoteSnapshotter } from '../../supervisor/src/client/snapshots';
import { chainIds } from '../../supervisor/src/diff/unpack';
import { berthctlJs, peerMode, removeDir, startBerthd, startDaemon, type Daemon } from './support/daemon';
import { collectGarbage } from './support/gc';
import { blobFile, makeBusyboxLayout, tarLayout, type Layout } from './support/image';
import { startRegistry, type Registry } from './support/registry';
import { run, runOk } from './support/run';
import { removeEmptyCgroups } from '../support/cleanup';

let work: string;
let d: Daemon;
let layout: Layout;
let archive: string;
let registry: Registry;
let manifest: { config: { digest: string }; layers: Array<{ digest: string }> };
let chain: string[];
let diffIds: string[];

const ctr = (...args: string[]) => run('ctr', ['--address', d.address, ...args]);
const ctrOk = (...args: string[]) => runOk('ctr', ['--address', d.address, ...args]);
const berthctl = (...args: string[]) => runOk(process.execPath, [berthctlJs, '--address', d.address, ...args]);

interface Row {
  key: string;
  parent: string;
  kind: string;
}

/** `ctr snapshots ls` as rows. */
async function snapshots(ns: string, snapshotter = 'overlayfs'): Promise<Row[]> {
  const out = (await ctrOk('--namespace', ns, 'snapshots', '--snapshotter', snapshotter, 'ls')).stdout.trim().split('\n').slice(1);
  return out
    .map((l) => l.trim().split(/\s+/))
    .map((f) => (f.length === 3 ? { key: f[0], parent: f[1], kind: f[2] } : { key: f[0], parent: '', kind: f[1] }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

const expectChain = async (ns: string, snapshotter = 'overlayfs') =>
  expect(await snapshots(ns, snapshotter)).toEqual(
    [
      { key: chain[0], parent: '', kind: 'Committed' },
      { key: chain[1], parent: chain[0], kind: 'Committed' },
    ].sort((a, b) => a.key.localeCompare(b.key)),
  );

/** Polls until fn holds (GC after a delete may finish after the call returns on containerd). */
async function eventually(fn: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const overlayDirs = () => fs.readdirSync(path.join(d.root, 'io.containerd.snapshotter.v1.overlayfs', 'snapshots'));

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unpack-'));
  [d, layout, registry] = await Promise.all([startDaemon(), makeBusyboxLayout(work, { extraBytes: 256 << 10 }), startRegistry(work)]);
  archive = await tarLayout(layout.dir, path.join(work, 'busybox-oci.tar'));
  manifest = JSON.parse(fs.readFileSync(blobFile(layout.dir, layout.manifest.digest), 'utf8'));
  diffIds = JSON.parse(fs.readFileSync(blobFile(layout.dir, manifest.config.digest), 'utf8')).rootfs.diff_ids;
  chain = chainIds(diffIds);
  expect(chain).toHaveLength(2);
});

afterAll(async () => {
  await d?.stop();
  await registry?.stop();
  if (work) removeDir(work);
  // `ctr run` in namespace imp: runc's cgroup /imp/run-1 goes with the container, the
  // namespace's parent dirs (cgroups, runc's state root) stay behind as containerd leaves them
  removeEmptyCgroups('imp/run-1', 'imp');
  fs.rmSync('/run/containerd/runc/imp', { recursive: true, force: true });
});

test('images import unpacks into overlayfs by default: chain IDs, labels as containerd, check complete', async () => {
  const ns = ['--namespace', 'imp'];
  const out = await ctrOk(...ns, 'images', 'import', '--base-name', 'test/busybox', archive);
  expect(out.stdout).toMatch(/unpacking test\/busybox:latest \(sha256:[0-9a-f]{64}\)\.\.\.done/);
  await expectChain('imp');
  const check = await ctrOk(...ns, 'images', 'check');
  expect(check.stdout).toMatch(/test\/busybox:latest\s+\S+\s+sha256:[0-9a-f]{64}\s+complete \(3\/3\)\s+.*\btrue\s*$/m);

  const top = JSON.parse((await ctrOk(...ns, 'snapshots', 'info', chain[1])).stdout);
  expect(top).toMatchObject({ Kind: 'Committed', Name: chain[1], Parent: chain[0] }); // image.Unpack sets no snapshot labels
  const content = (await ctrOk(...ns, 'content', 'ls')).stdout;
  for (const [i, l] of manifest.layers.entries()) expect(content).toMatch(new RegExp(`${l.digest}\\s.*containerd\\.io/uncompressed=${diffIds[i]}`));
  expect(content).toMatch(new RegExp(`${manifest.config.digest}\\s.*containerd\\.io/gc\\.ref\\.snapshot\\.overlayfs=${chain[1]}`));
  expect(overlayDirs()).toHaveLength(2);
  const files = fs.readdirSync(path.join(d.root, 'io.containerd.snapshotter.v1.overlayfs', 'snapshots')).flatMap((id) => fs.readdirSync(path.join(d.root, 'io.containerd.snapshotter.v1.overlayfs', 'snapshots', id, 'fs')));
  expect(files).toEqual(expect.arrayContaining(['bin', 'hello.txt', 'data.bin']));
});

test('import into native too; importing again makes nothing new', async () => {
  const ns = ['--namespace', 'imp'];
  await ctrOk(...ns, 'images', 'import', '--snapshotter', 'native', '--base-name', 'test/busybox', archive);
  await expectChain('imp', 'native');
  const before = overlayDirs();
  await ctrOk(...ns, 'images', 'import', '--base-name', 'test/busybox', archive);
  await expectChain('imp');
  expect(overlayDirs()).toEqual(before);
  const bad = await ctr(...ns, 'images', 'import', '--snapshotter', 'zfs', '--base-name', 'test/busybox', archive);
  expect(bad.code).not.toBe(0);
  if (!peerMode) expect(bad.stderr).toMatch(/snapshotter not loaded: zfs/);
});

test('ctr run prepares the rootfs snapshot on the image chain', async () => {
  const ns = ['--namespace', 'imp'];
  const r = await ctr(...ns, 'run', 'test/busybox:latest', 'run-1', '/bin/sh', '-c', 'exit 0');
  expect(r).toMatchObject({ code: 0, stderr: '' }); // containerd's runc shim ran it on the snapshot's mounts
  const info = JSON.parse((await ctrOk(...ns, 'snapshots', 'info', 'run-1')).stdout);
  expect(info).toMatchObject({ Kind: 'Active', Name: 'run-1', Parent: chain[1] });
  const mounts = (await ctrOk(...ns, 'snapshots', 'mounts', '/rootfs', 'run-1')).stdout;
  expect(mounts).toMatch(/^mount -t overlay overlay \/rootfs -o index=off,workdir=.*,upperdir=.*,lowerdir=.*/);
  expect((await ctrOk(...ns, 'containers', 'ls', '-q')).stdout).toContain('run-1');
  await ctrOk(...ns, 'containers', 'rm', 'run-1'); // removes its snapshot too (ctr's default)
  expect((await snapshots('imp')).map((s) => s.key)).not.toContain('run-1');
});

test('images rm --sync collects the image\'s snapshots, down to the overlay directories', async () => {
  const ns = ['--namespace', 'imp'];
  await ctrOk(...ns, 'images', 'rm', '--sync', 'test/busybox:latest');
  await eventually(async () => (await snapshots('imp')).length === 0 && (await snapshots('imp', 'native')).length === 0, 'the snapshots to go');
  await eventually(async () => overlayDirs().length === 0, 'the overlay directories to go');
  expect((await ctrOk(...ns, 'content', 'ls', '-q')).stdout.trim()).toBe('');
  await ctrOk('namespaces', 'rm', 'imp');
});

test('pull --plain-http from docker-registry unpacks (ctr and berthctl); check is complete', async () => {
  const ref = `${registry.host}/test/busybox:2layers`;
  await runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:latest`, `docker://${ref}`]);
  const pulled = await ctrOk('--namespace', 'pulls', 'images', 'pull', '--plain-http', ref);
  expect(pulled.stdout).toMatch(/unpacking linux\/amd64 sha256:[0-9a-f]{64}\.\.\./);
  await expectChain('pulls');
  expect((await ctrOk('--namespace', 'pulls', 'images', 'check')).stdout).toMatch(/complete \(3\/3\).*\btrue\s*$/m);

  await berthctl('--namespace', 'ctl-pulls', 'images', 'pull', '--plain-http', ref);
  await expectChain('ctl-pulls');
  // berthctl unpacks as containerd's unpacker.go (Client.Pull with unpack): the target is named by containerd.io/snapshot.ref
  expect(JSON.parse((await ctrOk('--namespace', 'ctl-pulls', 'snapshots', 'info', chain[1])).stdout).Labels).toMatchObject({ 'containerd.io/snapshot.ref': chain[1] });
  expect((await ctrOk('--namespace', 'ctl-pulls', 'images', 'check')).stdout).toMatch(/complete \(3\/3\).*\btrue\s*$/m);
  const content = (await ctrOk('--namespace', 'ctl-pulls', 'content', 'ls')).stdout;
  expect(content).toMatch(new RegExp(`${manifest.config.digest}\\s.*containerd\\.io/gc\\.ref\\.snapshot\\.overlayfs=${chain[1]}`));
  await berthctl('--namespace', 'ctl-imports', 'images', 'import', '--snapshotter', 'native', '--base-name', 'test/busybox', archive);
  await expectChain('ctl-imports', 'native');

  for (const ns of ['pulls', 'ctl-pulls']) await ctrOk('--namespace', ns, 'images', 'rm', '--sync', ref);
  await ctrOk('--namespace', 'ctl-imports', 'images', 'rm', '--sync', 'test/busybox:latest');
  await eventually(async () => (await snapshots('pulls')).length + (await snapshots('ctl-pulls')).length + (await snapshots('ctl-imports', 'native')).length === 0, 'the snapshots to go');
});

test('a lease protects a prepared snapshot from garbage collection until it is deleted', async () => {
  const c = d.client('leased');
  const sn = new RemoteSnapshotter(c, 'overlayfs');
  await c.call('leases', 'Create', { id: 'protect', labels: {} });
  c.lease = 'protect';
  await sn.prepare('protected', '');
  c.lease = undefined;
  await sn.prepare('unprotected', '');
  expect((await c.call('leases', 'ListResources', { id: 'protect' })).resources).toEqual([{ id: 'protected', type: 'snapshots/overlayfs' }]);
  await collectGarbage(c);
  await expect(sn.stat('unprotected')).rejects.toMatchObject({ kind: 'NotFound' });
  expect((await sn.stat('protected')).kind).toBe('active');
  await c.call('leases', 'Delete', { id: 'protect', sync: true });
  await expect(sn.stat('protected')).rejects.toMatchObject({ kind: 'NotFound' });
});

(peerMode ? test.skip : test)('a restarted berthd keeps the unpacked snapshots, their records and their GC references', async () => {
  await ctrOk('--namespace', 'restart', 'images', 'import', '--base-name', 'test/busybox', archive);
  await ctrOk('--namespace', 'restart', 'snapshots', 'prepare', 'work', chain[1]);
  const dir = d.dir;
  await d.stop();
  d = await startBerthd({ dir });
  expect((await snapshots('restart')).map((r) => r.key)).toEqual([...chain, 'work'].sort());
  expect((await ctrOk('--namespace', 'restart', 'images', 'check')).stdout).toMatch(/complete \(3\/3\).*\btrue\s*$/m);
  expect(JSON.parse((await ctrOk('--namespace', 'restart', 'snapshots', 'info', 'work')).stdout)).toMatchObject({ Kind: 'Active', Parent: chain[1] });
  await ctrOk('--namespace', 'restart', 'snapshots', 'rm', 'work');
  await ctrOk('--namespace', 'restart', 'images', 'rm', '--sync', 'test/busybox:latest');
  expect(await snapshots('restart')).toEqual([]);
  expect(overlayDirs()).toEqual([]);
});
