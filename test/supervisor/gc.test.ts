/**
 * Garbage collection by references: what is reachable from images,
 * containers, leases and gc.root labels stays, through gc.ref.content labels;
 * everything else goes, and so do expired leases with what only they held.
 */
import * as crypto from 'node:crypto';
import type { Client } from '../../supervisor/src/client/client';
import { writeBlob } from '../../supervisor/src/client/content';
import { removeDir, startDaemon, type Daemon } from './support/daemon';
import { collectGarbage, contentDigests } from './support/gc';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

/**
 * Writes a blob under the client's hold lease: a collection (containerd runs
 * them on its own schedule) cannot take it before the test has referenced it.
 */
async function blob(c: Client, labels: Record<string, string> = {}): Promise<string> {
  const data = crypto.randomBytes(64);
  const r = await writeBlob(c, `gc-${crypto.randomUUID()}`, (async function* () { yield data; })(), '', data.length, labels);
  return r.digest;
}

/** Sets up objects under a lease, then drops the lease (collecting synchronously). */
async function held(c: Client, fn: () => Promise<void>): Promise<void> {
  const { lease } = await c.call('leases', 'Create', { id: `hold-${crypto.randomUUID()}` });
  c.lease = lease.id;
  try {
    await fn();
  } finally {
    c.lease = undefined;
  }
  await c.call('leases', 'Delete', { id: lease.id, sync: true });
}

test('unreferenced content goes; a gc.root and what it references by label stay', async () => {
  const c = d.client('gc-labels');
  let loose = '', child = '', grandchild = '', mid = '', root = '';
  await held(c, async () => {
    loose = await blob(c);
    child = await blob(c);
    grandchild = await blob(c);
    mid = await blob(c, { 'containerd.io/gc.ref.content.x': grandchild });
    root = await blob(c, { 'containerd.io/gc.root': 'true', 'containerd.io/gc.ref.content.a': child, 'containerd.io/gc.ref.content.b/c': mid });
  });
  expect(await contentDigests(c)).toEqual([root, child, mid, grandchild].sort());
  expect(await contentDigests(c)).not.toContain(loose);
  // dropping the root label lets the whole tree go
  await c.call('content', 'Update', { info: { digest: root, labels: {} }, updateMask: { paths: ['labels.containerd.io/gc.root'] } });
  await collectGarbage(c);
  expect(await contentDigests(c)).toEqual([]);
});

test('an image keeps its target tree; deleting it with sync collects at once', async () => {
  const c = d.client('gc-images');
  let config = '', manifest = '';
  await held(c, async () => {
    config = await blob(c);
    manifest = await blob(c, { 'containerd.io/gc.ref.content.config': config });
    await c.call('images', 'Create', { image: { name: 'gc/image:1', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest, size: 64 } } });
  });
  expect(await contentDigests(c)).toEqual([config, manifest].sort());
  await c.call('images', 'Delete', { name: 'gc/image:1', sync: true });
  expect(await contentDigests(c)).toEqual([]);
});

test('a lease protects what is written under it until it is deleted; an expired lease protects nothing', async () => {
  const c = d.client('gc-leases');
  const { lease } = await c.call('leases', 'Create', { id: 'keep-it', labels: {} });
  c.lease = lease.id;
  const a = await blob(c);
  c.lease = undefined;
  expect((await c.call('leases', 'ListResources', { id: 'keep-it' })).resources).toEqual([{ id: a, type: 'content' }]);
  await collectGarbage(c);
  expect(await contentDigests(c)).toEqual([a]);

  let b = '';
  await held(c, async () => {
    b = await blob(c);
    await c.call('leases', 'AddResource', { id: 'keep-it', resource: { id: b, type: 'content' } });
  });
  expect(await contentDigests(c)).toEqual([a, b].sort());
  await c.call('leases', 'DeleteResource', { id: 'keep-it', resource: { id: b, type: 'content' } });
  await collectGarbage(c);
  expect(await contentDigests(c)).toEqual([a]);

  await c.call('leases', 'Delete', { id: 'keep-it', sync: true });
  expect(await contentDigests(c)).toEqual([]);

  const past = new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, 'Z');
  await held(c, async () => {
    await c.call('leases', 'Create', { id: 'stale', labels: { 'containerd.io/gc.expire': past } });
    await c.call('leases', 'AddResource', { id: 'stale', resource: { id: await blob(c), type: 'content' } });
  });
  expect(await contentDigests(c)).toEqual([]);
  expect((await c.call('leases', 'List', {})).leases.map((l: { id: string }) => l.id)).not.toContain('stale');
});

test('lease errors: unknown lease, bad resource type, duplicate id', async () => {
  const c = d.client('gc-lease-errors');
  await expect(c.call('leases', 'AddResource', { id: 'nope', resource: { id: 'sha256:' + '1'.repeat(64), type: 'content' } })).rejects.toMatchObject({ kind: 'NotFound' });
  await c.call('leases', 'Create', { id: 'dup', labels: {} });
  await expect(c.call('leases', 'Create', { id: 'dup', labels: {} })).rejects.toMatchObject({ kind: 'AlreadyExists' });
  await expect(c.call('leases', 'AddResource', { id: 'dup', resource: { id: 'x', type: 'bogus' } })).rejects.toMatchObject({ kind: 'NotImplemented' });
  await expect(c.call('leases', 'Delete', { id: 'nope' })).rejects.toMatchObject({ kind: 'NotFound' });
  expect((await c.call('leases', 'List', { filters: ['id==dup'] })).leases).toHaveLength(1);
  await c.call('leases', 'Delete', { id: 'dup' });
});

test('a container keeps the content its labels reference', async () => {
  const c = d.client('gc-containers');
  let spec = '';
  await held(c, async () => {
    spec = await blob(c);
    await c.call('containers', 'Create', {
      container: { id: 'held', labels: { 'containerd.io/gc.ref.content.spec': spec }, runtime: { name: 'io.containerd.runc.v2' }, spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{}') } },
    });
  });
  expect(await contentDigests(c)).toEqual([spec]);
  await c.call('containers', 'Delete', { id: 'held' });
  await collectGarbage(c);
  expect(await contentDigests(c)).toEqual([]);
});

/** Until fn is true, or fails after ms. */
async function eventually(fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the scheduler (io.containerd.gc.v1.scheduler)', () => {
  test('collects a deletion by itself, without sync', async () => {
    const c = d.client('gc-scheduled');
    let loose = '';
    const { lease } = await c.call('leases', 'Create', { id: 'scheduled', labels: {} });
    c.lease = lease.id;
    loose = await blob(c);
    c.lease = undefined;
    expect(await contentDigests(c)).toEqual([loose]);
    await c.call('leases', 'Delete', { id: 'scheduled' }); // no sync: the deletion asks for a collection
    await eventually(async () => (await contentDigests(c)).length === 0, 5000);
  });

  test('honours containerd settings: with deletions not counted, only a sync collects', async () => {
    const quiet = await startDaemon({
      extraConfig: '[plugins."io.containerd.gc.v1.scheduler"]\n  pause_threshold = 0.1\n  deletion_threshold = 1000000\n  mutation_threshold = 0\n  schedule_delay = "0s"\n  startup_delay = "0s"\n',
    });
    try {
      const c = quiet.client('gc-quiet');
      const { lease } = await c.call('leases', 'Create', { id: 'quiet', labels: {} });
      c.lease = lease.id;
      const loose = await blob(c);
      c.lease = undefined;
      await c.call('leases', 'Delete', { id: 'quiet' });
      await new Promise((r) => setTimeout(r, 1000));
      expect(await contentDigests(c)).toEqual([loose]);
      await collectGarbage(c);
      expect(await contentDigests(c)).toEqual([]);
    } finally {
      await quiet.stop();
      removeDir(quiet.dir);
    }
  });
});
