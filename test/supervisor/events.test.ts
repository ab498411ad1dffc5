/** The events service: what services publish, Publish and Forward, Subscribe with filters. */
import { encodeEvent, decodeEvent } from '../../supervisor/src/events/exchange';
import { removeDir, startDaemon, type Daemon } from './support/daemon';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

/** Collects envelopes from a subscription until `n` arrived. */
async function collect(filters: string[], n: number, trigger: () => Promise<void>) {
  const sub = d.client('');
  // a probe topic proves the subscription is in place before the trigger runs
  const it = sub.stream('events', 'Subscribe', { filters: [...filters, 'topic=="/probe/ready"'] });
  const got: Array<{ topic: string; namespace: string; event: Record<string, unknown> | undefined; typeUrl: string }> = [];
  let ready: () => void = () => undefined;
  const subscribed = new Promise<void>((r) => (ready = r));
  const reading = (async () => {
    for await (const env of it) {
      if (env.topic === '/probe/ready') {
        ready();
        continue;
      }
      got.push({ topic: env.topic, namespace: env.namespace, typeUrl: env.event?.type_url, event: env.event ? decodeEvent(env.event) : undefined });
      if (got.length >= n) break;
    }
  })();
  const probe = d.client('probe');
  let isReady = false;
  void subscribed.then(() => (isReady = true));
  for (let i = 0; i < 100 && !isReady; i++) {
    await probe.call('events', 'Publish', { topic: '/probe/ready', event: encodeEvent('containerd.events.TaskOOM', {}) });
    await Promise.race([subscribed, new Promise((r) => setTimeout(r, 50))]);
  }
  await trigger();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([reading, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`got only ${JSON.stringify(got)}`)), 5000)))]);
  } finally {
    clearTimeout(timer);
    sub.close();
    probe.close();
  }
  return got;
}

test('services publish typed events; filters select by topic and namespace', async () => {
  const c = d.client('ev');
  const got = await collect(['topic~="/images/"', 'topic=="/namespaces/create"'], 3, async () => {
    await c.call('namespaces', 'Create', { namespace: { name: 'ev-other', labels: { a: 'b' } } });
    await c.call('leases', 'Create', { id: 'not-an-event-topic' });
    await c.call('images', 'Create', { image: { name: 'ev/img:1', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 } } });
    await c.call('images', 'Delete', { name: 'ev/img:1' });
  });
  expect(got).toEqual([
    { topic: '/namespaces/create', namespace: 'ev', typeUrl: 'containerd.events.NamespaceCreate', event: { name: 'ev-other', labels: { a: 'b' } } },
    { topic: '/images/create', namespace: 'ev', typeUrl: 'containerd.services.images.v1.ImageCreate', event: { name: 'ev/img:1' } },
    { topic: '/images/delete', namespace: 'ev', typeUrl: 'containerd.services.images.v1.ImageDelete', event: { name: 'ev/img:1' } },
  ]);
});

test('publish stamps the caller namespace; forward keeps the envelope; bad topics are refused', async () => {
  const c = d.client('ev-pub');
  const got = await collect(['namespace==ev-pub', 'namespace==fwd-ns'], 2, async () => {
    await c.call('events', 'Publish', { topic: '/tasks/exit', event: encodeEvent('containerd.events.TaskExit', { containerId: 'c1', pid: 42, exitStatus: 3 }) });
    await c.call('events', 'Forward', {
      envelope: { timestamp: { seconds: 1000, nanos: 5 }, namespace: 'fwd-ns', topic: '/tasks/oom', event: encodeEvent('containerd.events.TaskOOM', { containerId: 'c2' }) },
    });
  });
  expect(got[0]).toMatchObject({ topic: '/tasks/exit', namespace: 'ev-pub', event: { containerId: 'c1', pid: 42, exitStatus: 3 } });
  expect(got[1]).toMatchObject({ topic: '/tasks/oom', namespace: 'fwd-ns', event: { containerId: 'c2' } });
  await expect(c.call('events', 'Publish', { topic: 'no-slash', event: encodeEvent('containerd.events.TaskOOM', {}) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('events', 'Publish', { topic: '/a//b', event: encodeEvent('containerd.events.TaskOOM', {}) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
});
