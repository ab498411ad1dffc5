/**
 * Namespaces: new ones, joined ones (by path), and what is set up in them
 * (lo up, hostname/domainname, sysctls, id maps, time offsets).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll, track } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { isPeer, Runtime } from '../support/runtime';

describeIf(requires('root'))('namespaces', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  test('a new network namespace has lo up and nothing else', () => {
    const b = setupBundle(['sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags']);
    b.update((c) => c.mounts!.splice(c.mounts!.findIndex((m) => m.destination === '/sys'), 1, { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }));
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim().split('\n');
    expect(out[0]).toBe('lo');
    expect(out[1]).toBe('unknown'); // lo reports "unknown" when up
    expect(Number(out[2]) & 1).toBe(1); // IFF_UP
  });

  test('a namespace given by path is joined, not created', () => {
    const name = `berth-${process.pid}-${Date.now() % 100000}`;
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    track.add(() => spawnSync('ip', ['netns', 'del', name]));
    const nsPath = `/run/netns/${name}`;
    const b = setupBundle(['readlink', '/proc/self/ns/net']);
    b.update((c) => (c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: nsPath } : n))));
    const inside = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim();
    const ino = fs.statSync(nsPath).ino;
    expect(inside).toBe(`net:[${ino}]`);
  });

  test('domainname and namespaced sysctls are applied', () => {
    const b = setupBundle(['sh', '-c', 'cat /proc/sys/kernel/domainname /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_forward']);
    b.update((c) => {
      c.domainname = 'example.test';
      c.linux!.sysctl = { 'kernel.shmmni': '1024', 'net/ipv4/ip_forward': '1' };
    });
    // runc 1.1 ignores domainname (runc 1.2 sets it); berth sets it.
    const want = isPeer() ? /^.*\n1024\n1\n$/ : /^example\.test\n1024\n1\n$/;
    expect(rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout).toMatch(want);
  });

  test('sysctls that are not namespaced are refused before anything runs', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.linux!.sysctl = { 'kernel.panic': '1' }));
    const r = rt.run(['create', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is not in a separate kernel namespace/);
  });

  test('a cgroup namespace makes the container\'s cgroup its root', () => {
    const b = setupBundle(['cat', '/proc/self/cgroup']);
    b.update((c) => c.linux!.namespaces!.push({ type: 'cgroup' }));
    const lines = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim().split('\n');
    // every v1 hierarchy the container joined shows as "/" from inside
    const memory = lines.find((l) => l.split(':')[1] === 'memory');
    expect(memory?.split(':')[2]).toBe('/');
  });

  test('a user namespace maps container root to the configured host uid', () => {
    const b = setupBundle(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/made-inside']);
    b.update((c) => {
      c.root!.readonly = false;
      c.linux!.namespaces!.push({ type: 'user' });
      c.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      // sysfs and the cgroup bind need privileges the user namespace does not have over the host's
      c.mounts = c.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup');
    });
    // The mapped root (host uid 200000) must be able to reach the rootfs, as with runc.
    fs.chmodSync(b.dir, 0o755);
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(out).toEqual(['0 200000 65536', '0 200000 65536', '0']);
    expect(fs.statSync(path.join(b.rootfs, 'tmp/made-inside')).uid).toBe(200000);
  });

  // runc 1.1 predates time namespaces (berth-only).
  (requires('timens') || isPeer() ? test.skip : test)('a time namespace applies the configured offsets', () => {
    const b = setupBundle(['cut', '-d.', '-f1', '/proc/uptime']);
    b.update((c) => {
      c.linux!.namespaces!.push({ type: 'time' });
      c.linux!.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 } };
    });
    const up = Number(rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim());
    expect(up).toBeGreaterThanOrEqual(86400 * 365);
  });
});
