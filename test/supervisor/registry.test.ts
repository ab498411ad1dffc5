/**
 * Pull and push against Debian's docker-registry (distribution 2.8): plain
 * HTTP, a two-platform index, htpasswd (Basic) and token (Bearer) auth, HTTPS
 * with a CA made here, and a faulty proxy in front for 404, 500 and cut
 * connections (retried with Range, and resumed by the next pull).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '../../supervisor/src/client/client';
import { pull } from '../../supervisor/src/images/remotes/pull';
import { push } from '../../supervisor/src/images/remotes/push';
import { removeDir, startDaemon, type Daemon } from './support/daemon';
import { collectGarbage, contentDigests } from './support/gc';
import { blobFile, makeBusyboxLayout, makeMultiPlatform, type Layout } from './support/image';
import { startFaultyProxy, startRegistry, type Registry } from './support/registry';
import { runOk } from './support/run';

let work: string;
let d: Daemon;
let layout: Layout;
let reg: Registry;
let manifest: { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
let multiIndex: { digest: string };

const skopeoPush = (src: string, ref: string, ...extra: string[]) => runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', ...extra, `oci:${layout.dir}:${src}`, `docker://${ref}`]);

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-registry-'));
  [d, layout, reg] = await Promise.all([startDaemon(), makeBusyboxLayout(work, { extraBytes: 3 << 20 }), startRegistry(work)]);
  manifest = JSON.parse(fs.readFileSync(blobFile(layout.dir, layout.manifest.digest), 'utf8'));
  multiIndex = makeMultiPlatform(layout, 'multi');
  await skopeoPush('latest', `${reg.host}/test/busybox:latest`);
  await skopeoPush('multi', `${reg.host}/test/busybox:multi`, '--all');
});
afterAll(async () => {
  await d?.stop();
  await reg?.stop();
  removeDir(work);
});

const imageTree = () => [layout.manifest.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].sort();

test('pull over plain HTTP verifies and stores the whole tree under the image', async () => {
  const c = d.client('pull');
  const events: string[] = [];
  const r = await pull(c, `${reg.host}/test/busybox:latest`, { plainHttp: true, progress: (e) => events.push(`${e.kind}:${e.status}`) });
  expect(r.target.digest).toBe(layout.manifest.digest);
  const { image } = await c.call('images', 'Get', { name: `${reg.host}/test/busybox:latest` });
  expect(image.target).toMatchObject({ digest: layout.manifest.digest, size: layout.manifest.size });
  await collectGarbage(c);
  expect(await contentDigests(c)).toEqual(imageTree());
  expect(events).toEqual(expect.arrayContaining(['layer:done', 'config:done', 'manifest:done']));
  // a second pull finds everything there
  const again: string[] = [];
  await pull(c, `${reg.host}/test/busybox:latest`, { plainHttp: true, progress: (e) => again.push(`${e.kind}:${e.status}`) });
  expect(again.filter((x) => x === 'layer:exists')).toHaveLength(manifest.layers.length);
});

test('pull of an index fetches the matching platform (amd64 by default, or the one asked for)', async () => {
  const idx = JSON.parse(fs.readFileSync(blobFile(layout.dir, multiIndex.digest), 'utf8'));
  const armManifest = idx.manifests.find((m: { platform: { architecture: string } }) => m.platform.architecture === 'arm64');
  const armConfig = JSON.parse(fs.readFileSync(blobFile(layout.dir, armManifest.digest), 'utf8')).config.digest;
  const c = d.client('pull-multi');
  const r = await pull(c, `${reg.host}/test/busybox:multi`, { plainHttp: true });
  expect(r.target.digest).toBe(multiIndex.digest);
  expect(r.manifests.map((m) => m.manifest.digest)).toEqual([layout.manifest.digest]);
  expect(await contentDigests(c)).not.toContain(armConfig);
  const arm = await pull(c, `${reg.host}/test/busybox:multi`, { plainHttp: true, platform: 'linux/arm64' });
  expect(arm.manifests.map((m) => m.manifest.digest)).toEqual([armManifest.digest]);
  expect(await contentDigests(c)).toContain(armConfig);
  await expect(pull(c, `${reg.host}/test/busybox:multi`, { plainHttp: true, platform: 'linux/s390x' })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringMatching(/no match for platform/) });
});

test('push to the registry, then skopeo and a fresh pull see the same image', async () => {
  const c = d.client('pull');
  const target = await push(c, `${reg.host}/test/busybox:latest`, `${reg.host}/pushed/busybox:v1`, { plainHttp: true });
  expect(target.digest).toBe(layout.manifest.digest);
  const inspect = JSON.parse((await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/pushed/busybox:v1`])).stdout);
  expect(inspect.layers.map((l: { digest: string }) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
  const c2 = d.client('pull-pushed');
  const r = await pull(c2, `${reg.host}/pushed/busybox:v1`, { plainHttp: true });
  expect(r.target.digest).toBe(layout.manifest.digest);
});

test('an unknown tag or repository is NotFound; a host that is not there is Unavailable', async () => {
  const c = d.client('errors');
  await expect(pull(c, `${reg.host}/test/busybox:nope`, { plainHttp: true })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringMatching(/404/) });
  await expect(pull(c, `${reg.host}/no/such:latest`, { plainHttp: true })).rejects.toMatchObject({ kind: 'NotFound' });
  await expect(pull(c, '127.0.0.1:1/test/busybox:latest', { plainHttp: true })).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/ECONNREFUSED/) });
  await expect(c.call('images', 'List', {})).resolves.toMatchObject({ images: [] });
});

describe('auth', () => {
  let basic: Registry;
  let token: Registry;
  beforeAll(async () => {
    [basic, token] = await Promise.all([startRegistry(work, { auth: 'htpasswd' }), startRegistry(work, { auth: 'token' })]);
  });
  afterAll(async () => {
    await basic?.stop();
    await token?.stop();
  });

  test('htpasswd: refused without or with wrong credentials, push and pull with them', async () => {
    const c = d.client('pull');
    const ref = `${basic.host}/auth/busybox:latest`;
    await expect(push(c, `${reg.host}/test/busybox:latest`, ref, { plainHttp: true })).rejects.toMatchObject({ kind: 'PermissionDenied', message: expect.stringMatching(/401 Unauthorized \(no credentials given\); it asks for Basic realm="berth-test"/) });
    await expect(push(c, `${reg.host}/test/busybox:latest`, ref, { plainHttp: true, username: 'tester', password: 'wrong' })).rejects.toMatchObject({ kind: 'PermissionDenied' });
    await push(c, `${reg.host}/test/busybox:latest`, ref, { plainHttp: true, username: 'tester', password: 'secret' });
    const c2 = d.client('auth-basic');
    await expect(pull(c2, ref, { plainHttp: true })).rejects.toMatchObject({ kind: 'PermissionDenied' });
    const r = await pull(c2, ref, { plainHttp: true, username: 'tester', password: 'secret' });
    expect(r.target.digest).toBe(layout.manifest.digest);
  });

  test('token: the Bearer flow with the realm, service and scope of the challenge', async () => {
    const c = d.client('pull');
    const ref = `${token.host}/tok/busybox:latest`;
    await push(c, `${reg.host}/test/busybox:latest`, ref, { plainHttp: true, username: 'tester', password: 'secret' });
    // The registry asks for "pull,push" or "push,pull" depending on which request came first.
    expect(token.tokenRequests.filter((r) => r.authorized && /^repository:tok\/busybox:(pull,push|push,pull)$/.test(r.scope)).length).toBeGreaterThan(0);
    const c2 = d.client('auth-token');
    await expect(pull(c2, ref, { plainHttp: true })).rejects.toMatchObject({ kind: 'PermissionDenied', message: expect.stringMatching(/failed to fetch token/) });
    const r = await pull(c2, ref, { plainHttp: true, username: 'tester', password: 'secret' });
    expect(r.target.digest).toBe(layout.manifest.digest);
    expect(token.tokenRequests).toContainEqual({ scope: 'repository:tok/busybox:pull', service: 'berth-registry', authorized: true });
  });
});

test('HTTPS with a custom CA; without the CA the certificate is refused', async () => {
  const tls = await startRegistry(work, { tls: true });
  try {
    const c = d.client('pull');
    const ref = `${tls.host}/secure/busybox:latest`;
    await push(c, `${reg.host}/test/busybox:latest`, ref, { caFile: tls.caFile });
    const c2 = d.client('tls');
    await expect(pull(c2, ref, {})).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/certificate/) });
    const r = await pull(c2, ref, { caFile: tls.caFile });
    expect(r.target.digest).toBe(layout.manifest.digest);
  } finally {
    await tls.stop();
  }
});

describe('faults', () => {
  // Each test pulls an image whose layer the store has never seen (a blob
  // already in the store is not fetched again, whatever the namespace).
  let fresh: { manifest: typeof manifest; digest: string };
  const big = () => fresh.manifest.layers.reduce((a, b) => (a.size > b.size ? a : b));
  beforeEach(async () => {
    const l = await makeBusyboxLayout(fs.mkdtempSync(path.join(work, 'fresh-')), { extraBytes: 3 << 20 });
    await runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${l.dir}:latest`, `docker://${reg.host}/test/busybox:latest`]);
    fresh = { manifest: JSON.parse(fs.readFileSync(blobFile(l.dir, l.manifest.digest), 'utf8')), digest: l.manifest.digest };
  });

  test('a registry answering 500 for a layer fails Unavailable after retries; no image is made', async () => {
    const proxy = await startFaultyProxy(reg.host, (req) => (req.url?.includes(big().digest) ? '500' : 'pass'));
    try {
      const c = d.client('fault-500');
      await expect(pull(c, `${proxy.host}/test/busybox:latest`, { plainHttp: true })).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/500 Internal Server Error/) });
      expect(proxy.requests.filter((r) => r.includes(big().digest)).length).toBeGreaterThan(1);
      await expect(c.call('images', 'Get', { name: `${proxy.host}/test/busybox:latest` })).rejects.toMatchObject({ kind: 'NotFound' });
    } finally {
      await proxy.stop();
    }
  });

  test('a connection cut mid-layer is retried from the offset reached, with a Range request', async () => {
    let cuts = 0;
    const proxy = await startFaultyProxy(reg.host, (req) => (req.url?.includes(big().digest) && req.method === 'GET' && cuts++ === 0 ? { cutAfter: 1 << 20 } : 'pass'));
    try {
      const c = d.client('fault-cut');
      const r = await pull(c, `${proxy.host}/test/busybox:latest`, { plainHttp: true });
      expect(r.target.digest).toBe(fresh.digest);
      const gets = proxy.requests.filter((x) => x.startsWith('GET') && x.includes(big().digest));
      expect(gets).toHaveLength(2);
      expect(gets[1]).toMatch(/bytes=\d+-$/);
      expect(Number(/bytes=(\d+)-/.exec(gets[1])![1])).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
    }
  });

  test('a pull that keeps failing keeps its partial layer, and the next pull resumes it', async () => {
    let broken = true;
    // each attempt gets 256 KiB further (retries resume), not enough for the layer in 4 attempts
    const proxy = await startFaultyProxy(reg.host, (req) => (broken && req.url?.includes(big().digest) && req.method === 'GET' ? { cutAfter: 256 << 10 } : 'pass'));
    try {
      const c = d.client('fault-resume');
      await expect(pull(c, `${proxy.host}/test/busybox:latest`, { plainHttp: true })).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/partial download is kept/) });
      const { statuses } = await c.call('content', 'ListStatuses', {});
      const partial = statuses.find((s: { ref: string }) => s.ref.includes(big().digest));
      expect(partial.offset).toBeGreaterThan(0);
      await collectGarbage(c); // the failed pull's lease keeps the partial ingest
      expect((await c.call('content', 'ListStatuses', {})).statuses).toHaveLength(statuses.length);
      broken = false;
      proxy.requests.length = 0;
      const r = await pull(c, `${proxy.host}/test/busybox:latest`, { plainHttp: true });
      expect(r.target.digest).toBe(fresh.digest);
      const gets = proxy.requests.filter((x) => x.startsWith('GET') && x.includes(big().digest));
      expect(gets).toEqual([expect.stringMatching(new RegExp(`bytes=${partial.offset}-$`))]);
    } finally {
      await proxy.stop();
    }
  });
});

export type { Client };
