/**
 * berthctl end to end: images import/ls/tag/export/rm, pull and push with
 * progress (plain lines without a terminal, live bars on one), content,
 * namespaces, leases, containers, events, version, --format json, and errors.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { berthctlJs, removeDir, startBerthd, type Daemon } from './support/daemon';
import { blobFile, makeBusyboxLayout, tarLayout, type Layout } from './support/image';
import { startRegistry, type Registry } from './support/registry';
import { run } from './support/run';

let work: string;
let d: Daemon;
let layout: Layout;
let reg: Registry;
let archive: string;

const ctl = (...args: string[]) => run(process.execPath, [berthctlJs, '--address', d.address, ...args]);
async function ctlOk(...args: string[]) {
  const r = await ctl(...args);
  if (r.code !== 0) throw new Error(`berthctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berthctl-'));
  [d, layout, reg] = await Promise.all([startBerthd(), makeBusyboxLayout(work, { extraBytes: 1 << 20 }), startRegistry(work)]);
  archive = await tarLayout(layout.dir, path.join(work, 'img.tar'));
});
afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  removeDir(work);
});

test('images import (plain progress lines), ls as table and JSON, tag, export, rm', async () => {
  const imp = await ctlOk('images', 'import', '--base-name', 'test/busybox', archive);
  expect(imp.stdout).toBe(`imported test/busybox:latest (${layout.manifest.digest})\n`);
  expect(imp.stderr).toMatch(/^blob-[0-9a-f]{12}: writing /m);
  expect(imp.stderr).toMatch(/^blob-[0-9a-f]{12}: done /m);
  const table = await ctlOk('images', 'ls');
  expect(table.stdout.split('\n')[0]).toMatch(/^REF\s+TYPE\s+DIGEST\s+SIZE\s+PLATFORMS\s+LABELS$/);
  expect(table.stdout).toMatch(new RegExp(`test/busybox:latest\\s+application/vnd.oci.image.manifest.v1\\+json\\s+${layout.manifest.digest}\\s+2\\.\\d MiB\\s+linux/amd64\\s+-`));
  const json = JSON.parse((await ctlOk('images', 'ls', '--format', 'json')).stdout);
  expect(json).toEqual([expect.objectContaining({ name: 'test/busybox:latest', target: expect.objectContaining({ digest: layout.manifest.digest }) })]);
  await ctlOk('images', 'tag', 'test/busybox:latest', 'test/busybox:v2');
  expect((await ctlOk('images', 'ls', '-q', 'name~=v2')).stdout).toBe('test/busybox:v2\n');
  const out = path.join(work, 'out.tar');
  await ctlOk('images', 'export', out, 'test/busybox:v2');
  expect(fs.statSync(out).size).toBeGreaterThan(1 << 20);
  expect((await ctlOk('images', 'rm', 'test/busybox:latest', 'test/busybox:v2')).stdout).toBe('test/busybox:latest\ntest/busybox:v2\n');
  expect((await ctlOk('gc')).stdout).toMatch(/^collected in \d+ ms$/m);
  expect((await ctlOk('content', 'ls', '-q')).stdout).toBe('');
});

test('pull and push with a registry, content get/ls/rm', async () => {
  await ctlOk('--namespace', 'reg', 'images', 'import', '--base-name', 'test/busybox', archive);
  const pushed = await ctlOk('--namespace', 'reg', 'images', 'push', '--plain-http', `${reg.host}/ctl/busybox:1`, 'test/busybox:latest');
  expect(pushed.stdout).toBe(`${reg.host}/ctl/busybox:1: pushed ${layout.manifest.digest}\n`);
  expect(pushed.stderr).toMatch(/: done /);
  const pulled = await ctlOk('--namespace', 'pulled', 'images', 'pull', '--plain-http', '--no-unpack', `${reg.host}/ctl/busybox:1`);
  expect(pulled.stdout).toBe(`${reg.host}/ctl/busybox:1: resolved ${layout.manifest.digest}\n`);
  expect(pulled.stderr).toMatch(/^layer-[0-9a-f]{12}: (done|exists) /m);
  const blobs = (await ctlOk('--namespace', 'pulled', 'content', 'ls', '-q')).stdout.trim().split('\n');
  expect(blobs).toContain(layout.manifest.digest);
  const got = await ctlOk('--namespace', 'pulled', 'content', 'get', layout.manifest.digest);
  expect(got.stdout).toBe(fs.readFileSync(blobFile(layout.dir, layout.manifest.digest), 'utf8'));
  const table = (await ctlOk('--namespace', 'pulled', 'content', 'ls')).stdout;
  expect(table).toMatch(/^DIGEST\s+SIZE\s+CREATED\s+LABELS/);
  expect(table).toContain('containerd.io/distribution.source');
  const failed = await ctl('--namespace', 'pulled', 'images', 'pull', '--plain-http', `${reg.host}/ctl/busybox:missing`);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/^berthctl: HEAD http:\/\/.*manifests\/missing: 404 Not Found.*\(NotFound\)$/m);
});

test('the progress display draws live bars on a terminal', async () => {
  const cmd = `${process.execPath} ${berthctlJs} --address ${d.address} --namespace tty images import --base-name test/tty ${archive}`;
  const r = await run('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, TERM: 'xterm', COLUMNS: '120' } });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/blob-[0-9a-f]{12} \|[█░]+\| done\s+\S+ \S+\/\S+ \S+/);
  expect(r.stdout).toContain('imported test/tty:latest');
});

test('namespaces, leases, containers, version', async () => {
  await ctlOk('namespaces', 'create', 'ctl-ns', 'a=b');
  expect((await ctlOk('namespaces', 'ls')).stdout).toMatch(/ctl-ns\s+a=b/);
  expect((await ctlOk('namespaces', 'rm', 'ctl-ns')).stdout).toBe('ctl-ns\n');
  const id = (await ctlOk('leases', 'create', '--id', 'l1', '--expires', '1h', 'who=test')).stdout.trim();
  expect(id).toBe('l1');
  const leases = JSON.parse((await ctlOk('leases', 'ls', '--format', 'json')).stdout);
  expect(leases[0].labels).toMatchObject({ who: 'test', 'containerd.io/gc.expire': expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  await ctlOk('leases', 'rm', 'l1');
  // an image in use by a container is refused (FailedPrecondition), --force removes it
  const c = d.client('inuse');
  await c.call('images', 'Create', { image: { name: 'in/use:1', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'c'.repeat(64)}`, size: 1 } } });
  await c.call('containers', 'Create', { container: { id: 'user', image: 'in/use:1', runtime: { name: 'io.containerd.runc.v2' }, spec: { type_url: 'x', value: Buffer.from('{}') } } });
  const refused = await ctl('--namespace', 'inuse', 'images', 'rm', 'in/use:1');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/image in\/use:1 is in use by container user \(--force removes it anyway\) \(FailedPrecondition\)/);
  expect((await ctlOk('--namespace', 'inuse', 'images', 'rm', '--force', 'in/use:1')).stdout).toBe('in/use:1\n');
  expect((await ctlOk('containers', 'ls')).stdout.trim()).toBe('CONTAINER   IMAGE   RUNTIME   LABELS');
  const missing = await ctl('containers', 'info', 'nope');
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/container "nope" in namespace "default": not found/);
  expect((await ctlOk('version')).stdout).toMatch(/Server:\n\s+Version:\s+\S+\n\s+Revision:/);
});

test('events prints what happens', async () => {
  const p = spawn(process.execPath, [berthctlJs, '--address', d.address, 'events']);
  let out = '';
  p.stdout.on('data', (c) => (out += c));
  try {
    // until the subscription is up, events go unseen: create namespaces until one shows
    for (let i = 0; i < 20 && !out.includes('/namespaces/create'); i++) {
      await ctlOk('--namespace', 'evns', 'namespaces', 'create', `from-events-${i}`);
      for (let j = 0; j < 10 && !out.includes('/namespaces/create'); j++) await new Promise((r) => setTimeout(r, 50));
    }
    expect(out).toMatch(/\/namespaces\/create evns \{"name":"from-events-\d+"\}/);
  } finally {
    p.kill();
  }
});

test('usage errors exit 1 with a message', async () => {
  const r = await ctl('images', 'frobnicate');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/Unknown argument|Unknown command/i);
  const down = await run(process.execPath, [berthctlJs, '--address', path.join(work, 'nothing.sock'), 'images', 'ls']);
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/berthctl: .*(ECONNREFUSED|ENOENT|No connection established)/);
});
