/** The containers service (containerd.services.containers.v1): CRUD, filters, field masks, immutable fields. */
import { removeDir, startDaemon, type Daemon } from './support/daemon';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

const spec = { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from(JSON.stringify({ ociVersion: '1.0.2' })) };
const container = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  image: 'docker.io/library/busybox:latest',
  labels: { app: id },
  runtime: { name: 'io.containerd.runc.v2', options: null },
  spec,
  snapshotter: 'overlayfs',
  snapshotKey: `${id}-snap`,
  extensions: { ext1: { type_url: 'x/y', value: Buffer.from('1') } },
  ...extra,
});

test('create, get, list (and stream) with filters, update with masks, delete', async () => {
  const c = d.client('containers');
  const { container: made } = await c.call('containers', 'Create', { container: container('web') });
  expect(made).toMatchObject({ id: 'web', runtime: { name: 'io.containerd.runc.v2' }, snapshotter: 'overlayfs', snapshotKey: 'web-snap' });
  expect(Buffer.from(made.spec.value).toString()).toContain('1.0.2');
  expect(made.spec.type_url).toBe(spec.type_url);
  expect((await c.call('containers', 'Get', { id: 'web' })).container.extensions.ext1.type_url).toBe('x/y');
  await c.call('containers', 'Create', { container: container('db', { image: 'docker.io/library/postgres:16' }) });
  await expect(c.call('containers', 'Create', { container: container('db') })).rejects.toMatchObject({ kind: 'AlreadyExists' });

  const ids = async (...filters: string[]) => (await c.call('containers', 'List', { filters })).containers.map((x: { id: string }) => x.id).sort();
  expect(await ids()).toEqual(['db', 'web']);
  expect(await ids('image~=postgres')).toEqual(['db']);
  expect(await ids('labels.app==web')).toEqual(['web']);
  expect(await ids('runtime.name==io.containerd.runc.v2,image~=busybox')).toEqual(['web']);
  expect(await ids('snapshotter==overlayfs')).toEqual([]); // not a filter field in containerd either
  const streamed: string[] = [];
  for await (const m of c.stream('containers', 'ListStream', { filters: ['id==web'] })) streamed.push(m.container.id);
  expect(streamed).toEqual(['web']);

  const up = await c.call('containers', 'Update', { container: { id: 'web', labels: { tier: 'front' }, image: 'other' }, updateMask: { paths: ['labels.tier'] } });
  expect(up.container.labels).toEqual({ app: 'web', tier: 'front' });
  expect(up.container.image).toBe('docker.io/library/busybox:latest');
  const up2 = await c.call('containers', 'Update', { container: { id: 'web', image: 'docker.io/library/busybox:1.36', extensions: {} }, updateMask: { paths: ['image', 'extensions.ext1'] } });
  expect(up2.container.image).toBe('docker.io/library/busybox:1.36');
  expect(up2.container.extensions).toEqual({ ext1: { type_url: '', value: Buffer.alloc(0) } }); // containerd empties, not removes
  const up3 = await c.call('containers', 'Update', { container: { id: 'web', extensions: {} }, updateMask: { paths: ['extensions'] } });
  expect(up3.container.extensions).toEqual({});
  await expect(c.call('containers', 'Update', { container: { id: 'web', runtime: { name: 'other' } }, updateMask: { paths: ['runtime'] } })).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/cannot update "runtime" field/) });
  await expect(c.call('containers', 'Update', { container: { id: 'web', runtime: { name: 'other' }, spec } })).rejects.toMatchObject({ kind: 'InvalidArgument', message: expect.stringMatching(/immutable/) });
  await expect(c.call('containers', 'Update', { container: { id: 'web', snapshotter: 'native' }, updateMask: { paths: ['snapshotter'] } })).rejects.toMatchObject({ kind: 'InvalidArgument' });

  await c.call('containers', 'Delete', { id: 'web' });
  await expect(c.call('containers', 'Get', { id: 'web' })).rejects.toMatchObject({ kind: 'NotFound' });
  await expect(c.call('containers', 'Delete', { id: 'web' })).rejects.toMatchObject({ kind: 'NotFound' });
});

test('invalid containers are InvalidArgument', async () => {
  const c = d.client('containers-bad');
  await expect(c.call('containers', 'Create', { container: container('bad/id') })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('containers', 'Create', { container: container('noruntime', { runtime: { name: '' } }) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('containers', 'Create', { container: container('nospec', { spec: null }) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('containers', 'Create', { container: container('nosnapshotter', { snapshotter: '' }) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
});
