/** The images service: create, get, list with filters, update with field masks, delete; errors by kind. */
import { removeDir, startDaemon, type Daemon } from './support/daemon';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

const target = (n: number) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: 100 + n, annotations: {} });

test('create, get, list with filters, update with masks, delete', async () => {
  const c = d.client('images-api');
  const { image } = await c.call('images', 'Create', { image: { name: 'docker.io/library/a:1', labels: { team: 'x', 'a.b': 'c' }, target: target(1) } });
  expect(image).toMatchObject({ name: 'docker.io/library/a:1', labels: { team: 'x' }, target: { digest: target(1).digest, size: 101 } });
  expect(image.createdAt.seconds).toBeGreaterThan(1_600_000_000);
  expect(image.updatedAt).toEqual(image.createdAt);
  await c.call('images', 'Create', { image: { name: 'quay.io/b:2', labels: { team: 'y' }, target: target(2) } });
  await expect(c.call('images', 'Create', { image: { name: 'quay.io/b:2', target: target(2) } })).rejects.toMatchObject({ kind: 'AlreadyExists' });

  const names = async (...filters: string[]) => (await c.call('images', 'List', { filters })).images.map((i: { name: string }) => i.name).sort();
  expect(await names()).toEqual(['docker.io/library/a:1', 'quay.io/b:2']);
  expect(await names('name~=^quay')).toEqual(['quay.io/b:2']);
  expect(await names('labels.team==x')).toEqual(['docker.io/library/a:1']);
  expect(await names('labels."a.b"==c')).toEqual(['docker.io/library/a:1']);
  expect(await names(`target.digest==${target(2).digest}`)).toEqual(['quay.io/b:2']);
  expect(await names('labels.team==x', 'name==quay.io/b:2')).toEqual(['docker.io/library/a:1', 'quay.io/b:2']);

  const up = await c.call('images', 'Update', { image: { name: 'quay.io/b:2', labels: { extra: '1' }, target: target(3) }, updateMask: { paths: ['labels.extra'] } });
  expect(up.image.labels).toEqual({ team: 'y', extra: '1' });
  expect(up.image.target.digest).toBe(target(2).digest);
  const up2 = await c.call('images', 'Update', { image: { name: 'quay.io/b:2', target: target(3) }, updateMask: { paths: ['target'] } });
  expect(up2.image.target.digest).toBe(target(3).digest);
  expect(up2.image.updatedAt.seconds * 1e9 + up2.image.updatedAt.nanos).toBeGreaterThan(up2.image.createdAt.seconds * 1e9 + up2.image.createdAt.nanos);
  await expect(c.call('images', 'Update', { image: { name: 'quay.io/b:2', target: target(3) }, updateMask: { paths: ['name'] } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('images', 'Update', { image: { name: 'nope', target: target(3) } })).rejects.toMatchObject({ kind: 'NotFound' });

  await c.call('images', 'Delete', { name: 'quay.io/b:2' });
  await expect(c.call('images', 'Get', { name: 'quay.io/b:2' })).rejects.toMatchObject({ kind: 'NotFound' });
  await expect(c.call('images', 'Delete', { name: 'quay.io/b:2' })).rejects.toMatchObject({ kind: 'NotFound' });
});

test('invalid images are InvalidArgument; an unknown namespace has no images', async () => {
  const c = d.client('images-api-bad');
  await expect(c.call('images', 'Create', { image: { name: '', target: target(1) } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('images', 'Create', { image: { name: 'x', target: { ...target(1), digest: 'sha256:short' } } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('images', 'Create', { image: { name: 'x', target: { ...target(1), mediaType: '' } } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('images', 'List', { filters: ['name=='] })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  const never = d.client('never-created');
  expect((await never.call('images', 'List', {})).images).toEqual([]);
  await expect(never.call('images', 'Get', { name: 'docker.io/library/a:1' })).rejects.toMatchObject({ kind: 'NotFound' });
});
