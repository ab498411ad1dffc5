/**
 * The real containerd `ctr` (Debian's containerd 1.6) drives berthd:
 * version, plugins, namespaces, images import/ls/check/tag/export/rm --sync,
 * content ls/get/rm, leases, and a pull from a local docker-registry.
 * Unpacking (import without --no-unpack, pull) is unpack-ctr.test.ts's.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeDir, startDaemon, type Daemon } from './support/daemon';
import { blobFile, makeBusyboxLayout, tarLayout, type Layout } from './support/image';
import { startRegistry, type Registry } from './support/registry';
import { run, runOk } from './support/run';

let work: string;
let d: Daemon;
let layout: Layout;
let archive: string;
let registry: Registry;

const ctr = (...args: string[]) => run('ctr', ['--address', d.address, ...args]);
const ctrOk = (...args: string[]) => runOk('ctr', ['--address', d.address, ...args]);

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ctr-'));
  [d, layout, registry] = await Promise.all([startDaemon(), makeBusyboxLayout(work), startRegistry(work)]);
  archive = await tarLayout(layout.dir, path.join(work, 'busybox-oci.tar'));
});

afterAll(async () => {
  await d?.stop();
  await registry?.stop();
  removeDir(work);
});

test('version and plugins ls', async () => {
  const v = await ctrOk('version');
  expect(v.stdout).toMatch(/Server:\s+Version:\s+\S+/);
  expect(v.stdout).toMatch(/UUID: [0-9a-f-]{36}/);
  const p = await ctrOk('plugins', 'ls');
  for (const id of ['content', 'images', 'leases', 'namespaces', 'events', 'containers', 'introspection', 'version']) {
    expect(p.stdout).toMatch(new RegExp(`io\\.containerd\\.grpc\\.v1\\s+${id}\\s+-\\s+ok`));
  }
  const f = await ctrOk('plugins', 'ls', 'type==io.containerd.metadata.v1');
  expect(f.stdout.trim().split('\n')).toHaveLength(2);
});

test('namespaces ls, create with labels, rm', async () => {
  await ctrOk('namespaces', 'create', 'ctr-ns', 'team=berth');
  expect((await ctrOk('namespaces', 'ls')).stdout).toMatch(/ctr-ns\s+team=berth/);
  await ctrOk('namespaces', 'label', 'ctr-ns', 'team=');
  await ctrOk('namespaces', 'rm', 'ctr-ns');
  expect((await ctrOk('namespaces', 'ls', '-q')).stdout).not.toMatch(/ctr-ns/);

  // A namespace that still holds something is refused (FailedPrecondition).
  await ctrOk('--namespace', 'busy-ns', 'images', 'import', '--base-name', 'test/busybox', '--no-unpack', archive);
  const busy = await ctr('namespaces', 'rm', 'busy-ns');
  expect(busy.code).not.toBe(0);
  expect(busy.stderr).toMatch(/namespace "?busy-ns"? must be empty, but it still has images/);
  await ctrOk('--namespace', 'busy-ns', 'images', 'rm', '--sync', 'test/busybox:latest');
  await ctrOk('namespaces', 'rm', 'busy-ns');
});

test('images import, ls, tag, export, rm --sync; content ls/get/rm', async () => {
  const ns = ['--namespace', 'imgs'];
  await ctrOk(...ns, 'images', 'import', '--base-name', 'test/busybox', '--no-unpack', archive);
  const ls = await ctrOk(...ns, 'images', 'ls');
  expect(ls.stdout).toContain(`test/busybox:latest`);
  expect(ls.stdout).toContain(layout.manifest.digest);
  expect(ls.stdout).toMatch(/linux\/amd64/);

  // check reads the whole tree from content, then asks the snapshotter about unpacking.
  const check = await ctr(...ns, 'images', 'check');
  expect(check.stdout).toMatch(/complete \(\d+\/\d+\)/);

  await ctrOk(...ns, 'images', 'tag', 'test/busybox:latest', 'test/busybox:v2');
  expect((await ctrOk(...ns, 'images', 'ls', '-q')).stdout.split('\n')).toEqual(expect.arrayContaining(['test/busybox:latest', 'test/busybox:v2']));

  const manifestBody = fs.readFileSync(blobFile(layout.dir, layout.manifest.digest));
  expect((await ctrOk(...ns, 'content', 'get', layout.manifest.digest)).stdout).toBe(manifestBody.toString());
  const content = (await ctrOk(...ns, 'content', 'ls', '-q')).stdout.trim().split('\n');
  const manifest = JSON.parse(manifestBody.toString());
  expect(content).toEqual(expect.arrayContaining([layout.manifest.digest, manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)]));

  const out = path.join(work, 'ctr-export.tar');
  await ctrOk(...ns, 'images', 'export', out, 'test/busybox:latest');
  const listing = (await runOk('tar', ['-tf', out])).stdout;
  expect(listing).toContain(`blobs/sha256/${manifest.layers[0].digest.slice(7)}`);
  expect(listing).toContain('index.json');

  await ctrOk(...ns, 'images', 'rm', '--sync', 'test/busybox:latest');
  // still referenced by v2
  expect((await ctrOk(...ns, 'content', 'ls', '-q')).stdout).toContain(manifest.layers[0].digest);
  await ctrOk(...ns, 'images', 'rm', '--sync', 'test/busybox:v2');
  expect((await ctrOk(...ns, 'content', 'ls', '-q')).stdout.trim()).toBe('');
  // the files went too (containerd's layout under the root)
  expect(fs.readdirSync(path.join(d.root, 'io.containerd.content.v1.content', 'blobs', 'sha256'))).toEqual([]);

  // content rm of a blob of a live image, and of a missing one
  await ctrOk(...ns, 'images', 'import', '--base-name', 'test/busybox', '--no-unpack', archive);
  await ctrOk(...ns, 'content', 'rm', manifest.config.digest);
  expect((await ctrOk(...ns, 'content', 'ls', '-q')).stdout).not.toContain(manifest.config.digest);
  // ctr skips a NotFound silently (and prints only what it deleted): the status must be NotFound.
  const missing = await ctr(...ns, 'content', 'rm', `sha256:${'0'.repeat(64)}`);
  expect(missing.code).toBe(0);
  expect(missing.stdout).toBe('');
  const bad = await ctr(...ns, 'content', 'rm', 'sha256:nothex');
  expect(bad.code).not.toBe(0);
  await ctrOk(...ns, 'images', 'rm', '--sync', 'test/busybox:latest');
  await ctrOk('namespaces', 'rm', 'imgs');
});

test('content ingest (verified), active, label; events', async () => {
  const data = crypto.randomBytes(3_000_000);
  const digest = `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
  await runOk('ctr', ['--address', d.address, 'content', 'ingest', '--expected-digest', digest, '--expected-size', String(data.length), 'ingest-ref'], { input: data });
  expect((await ctrOk('content', 'ls')).stdout).toMatch(new RegExp(`${digest}\\s+3MB`));
  expect((await ctrOk('content', 'active')).stdout.trim()).toBe('REF\tSIZE\tAGE');
  const wrong = await run('ctr', ['--address', d.address, 'content', 'ingest', '--expected-digest', digest, 'other-ref'], { input: Buffer.from('not it') });
  expect(wrong.code).toBe(0); // the blob already exists: ctr's ingest stops at AlreadyExists, nothing is overwritten
  const unknown = `sha256:${crypto.createHash('sha256').update('never written').digest('hex')}`;
  const corrupt = await run('ctr', ['--address', d.address, 'content', 'ingest', '--expected-digest', unknown, 'corrupt-ref'], { input: Buffer.from('other bytes') });
  expect(corrupt.code).not.toBe(0);
  expect(corrupt.stderr).toMatch(/unexpected commit digest sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64}: failed precondition/);
  await ctrOk('content', 'label', digest, 'foo=bar');
  expect((await ctrOk('content', 'ls')).stdout).toMatch(new RegExp(`${digest}.*foo=bar`));
  await ctrOk('content', 'rm', digest);

  const events = spawn('ctr', ['--address', d.address, 'events']);
  let out = '';
  events.stdout.on('data', (c) => (out += c));
  try {
    for (let i = 0; i < 20 && !out.includes('/namespaces/create'); i++) {
      await ctrOk('namespaces', 'create', `evt-${i}`);
      for (let j = 0; j < 10 && !out.includes('/namespaces/create'); j++) await new Promise((r) => setTimeout(r, 50));
    }
    expect(out).toMatch(/default \/namespaces\/create \{"name":"evt-\d+"\}/);
  } finally {
    events.kill();
  }
});

test('leases ls, create, rm', async () => {
  const created = await ctrOk('leases', 'create', '--id', 'my-lease', 'purpose=test');
  expect(created.stdout.trim()).toBe('my-lease');
  expect((await ctrOk('leases', 'ls')).stdout).toMatch(/my-lease\s+.*purpose=test/);
  await ctrOk('leases', 'rm', 'my-lease');
  expect((await ctrOk('leases', 'ls', '-q')).stdout.trim()).toBe('');
  const again = await ctr('leases', 'rm', 'my-lease');
  expect(again.stderr).toMatch(/not found/);
});

test('pull --plain-http from docker-registry: content fetch, then images pull (which unpacks)', async () => {
  const ref = `${registry.host}/test/busybox:latest`;
  await runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:latest`, `docker://${ref}`]);
  const ns = ['--namespace', 'pulls'];
  await ctrOk(...ns, 'content', 'fetch', '--plain-http', ref);
  const ls = await ctrOk(...ns, 'images', 'ls');
  expect(ls.stdout).toContain(ref);
  const check = await ctr(...ns, 'images', 'check');
  expect(check.stdout).toMatch(/complete/);
  await ctrOk(...ns, 'images', 'rm', '--sync', ref);

  // ctr images pull has no --no-unpack in 1.6: it unpacks into overlayfs.
  await ctrOk(...ns, 'images', 'pull', '--plain-http', ref);
  expect((await ctrOk(...ns, 'images', 'ls', '-q')).stdout).toContain(ref);
  expect((await ctrOk(...ns, 'content', 'ls', '-q')).stdout).toContain(layout.manifest.digest);
});
