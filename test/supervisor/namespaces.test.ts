/** The namespaces service: create with labels, update with masks, list, delete only when empty. */
import { removeDir, startDaemon, type Daemon } from './support/daemon';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

test('create, get, update labels, list, delete; empty only', async () => {
  const c = d.client();
  await c.call('namespaces', 'Create', { namespace: { name: 'ns1', labels: { a: '1', b: '2' } } });
  await expect(c.call('namespaces', 'Create', { namespace: { name: 'ns1' } })).rejects.toMatchObject({ kind: 'AlreadyExists' });
  await expect(c.call('namespaces', 'Create', { namespace: { name: 'bad name' } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  expect((await c.call('namespaces', 'Get', { name: 'ns1' })).namespace.labels).toEqual({ a: '1', b: '2' });
  await c.call('namespaces', 'Update', { namespace: { name: 'ns1', labels: { a: 'x' } }, updateMask: { paths: ['labels.a', 'labels.b'] } });
  expect((await c.call('namespaces', 'Get', { name: 'ns1' })).namespace.labels).toEqual({ a: 'x' });
  // containerd answers an unknown namespace with empty labels
  expect((await c.call('namespaces', 'Get', { name: 'nope' })).namespace).toEqual({ name: 'nope', labels: {} });

  const inNs = d.client('ns1');
  await inNs.call('images', 'Create', { image: { name: 'x:1', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 1 } } });
  await expect(c.call('namespaces', 'Delete', { name: 'ns1' })).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringMatching(/must be empty, but it still has images/) });
  await inNs.call('images', 'Delete', { name: 'x:1' });
  await c.call('namespaces', 'Delete', { name: 'ns1' });
  expect((await c.call('namespaces', 'List', {})).namespaces.map((n: { name: string }) => n.name)).not.toContain('ns1');
  await expect(c.call('namespaces', 'Delete', { name: 'ns1' })).rejects.toMatchObject({ kind: 'NotFound' });
});

test('creating an object creates its namespace, as containerd', async () => {
  const c = d.client('implicit-ns');
  await c.call('leases', 'Create', { id: 'l1' });
  expect((await d.client().call('namespaces', 'List', {})).namespaces.map((n: { name: string }) => n.name)).toContain('implicit-ns');
});
