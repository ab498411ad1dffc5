/** Introspection: plugins with filters and statuses; the server's uuid (kept across restarts), pid and pid namespace. */
import * as fs from 'node:fs';
import { peerMode, removeDir, startBerthd, startDaemon, type Daemon } from './support/daemon';

let d: Daemon;
beforeAll(async () => {
  d = await startDaemon();
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

test('plugins with filters', async () => {
  const c = d.client();
  const all = (await c.call('introspection', 'Plugins', { filters: [] })).plugins;
  expect(all.length).toBeGreaterThan(8);
  const grpc = (await c.call('introspection', 'Plugins', { filters: ['type==io.containerd.grpc.v1'] })).plugins;
  expect(grpc.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['content', 'images', 'leases', 'namespaces', 'events', 'containers', 'introspection', 'version']));
  expect(grpc.every((p: { initErr: unknown }) => p.initErr === null)).toBe(true);
  const one = (await c.call('introspection', 'Plugins', { filters: ['type==io.containerd.content.v1,id==content'] })).plugins;
  expect(one).toHaveLength(1);
  expect(one[0].exports.root).toBe(`${d.root}/io.containerd.content.v1.content`);
});

(peerMode ? test.skip : test)('server identity: uuid kept across a restart, pid and pid namespace', async () => {
  const s1 = await d.client().call('introspection', 'Server', {});
  expect(s1.uuid).toMatch(/^[0-9a-f-]{36}$/);
  expect(s1.pid).toBe(d.proc.pid);
  expect(s1.pidns).toBe(fs.statSync('/proc/self/ns/pid').ino);
  await d.stop();
  d = await startBerthd({ dir: d.dir });
  const s2 = await d.client().call('introspection', 'Server', {});
  expect(s2.uuid).toBe(s1.uuid);
  expect(s2.pid).not.toBe(s1.pid);
});
