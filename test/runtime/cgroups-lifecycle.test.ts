/**
 * A cgroup's life as the runtime drives it: create, apply(pid), paths kept
 * and loaded back, pids (recursive), destroy (retrying while busy), and bad
 * input that is refused before anything is created or written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFailedPrecondition, isInvalidArgument } from '../../proto/src/errdefs';
import { parseProcCgroup } from '../../runtime/src/cgroups/detect';
import { loadCgroupManager, newCgroupManager } from '../../runtime/src/cgroups/new';
import { CgroupTracker, host, isV2, uniqueId, waitFor } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

/** The cgroup directory a pid is in, for a v1 subsystem or "" (v2). */
function cgroupDirOf(pid: number, key: string): string | undefined {
  const own = parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  if (key === '') return path.posix.join(host.unifiedMountpoint!, own['']);
  const mount = host.v1.get(key);
  if (!mount || own[key] === undefined) return undefined;
  return path.posix.join(mount.mountpoint, path.posix.relative(mount.root, own[key]));
}

describe('cgroup lifecycle', () => {
  it('create → apply(pid): the process is in every path; paths() has the runc shape', async () => {
    const m = t.manager('life');
    m.create();
    const paths = m.paths();
    if (isV2) {
      expect(Object.keys(paths)).toEqual(['']);
    } else {
      expect(paths.devices).toBeDefined();
      expect(paths.memory).toBeDefined();
      if (host.mode === 'hybrid') expect(paths['']).toMatch(/^\/sys\/fs\/cgroup\/unified\//);
    }
    for (const p of Object.values(paths)) expect(fs.statSync(p).isDirectory()).toBe(true);
    const p = t.start(m, 'sleep 30');
    for (const [key, dir] of Object.entries(paths)) expect(cgroupDirOf(p.pid, key)).toBe(dir);
    expect(m.pids()).toEqual([p.pid]);
    expect(m.exists()).toBe(true);
  });

  it('pids() walks sub-cgroups; a manager loaded from the stored paths sees the same', async () => {
    const m = t.manager('pids');
    m.create();
    const a = t.start(m, 'sleep 30');
    const dir = m.paths()[isV2 ? '' : 'devices'];
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub);
    const b = t.start(m, 'sleep 30');
    fs.writeFileSync(path.join(sub, 'cgroup.procs'), String(b.pid));
    const loaded = loadCgroupManager(JSON.parse(JSON.stringify(m.paths())));
    expect(loaded.mode).toBe(m.mode);
    expect(loaded.pids().sort()).toEqual([a.pid, b.pid].sort());
    expect(loaded.exists()).toBe(true);
  });

  it('destroy() refuses while processes remain, then removes every directory once they are gone', async () => {
    const m = t.manager('destroy');
    m.create();
    const p = t.start(m, 'sleep 30');
    let err: unknown;
    try {
      m.destroy();
    } catch (e) {
      err = e;
    }
    expect(isFailedPrecondition(err)).toBe(true);
    expect(String(err)).toMatch(/failed to remove cgroup paths/);
    process.kill(p.pid, 'SIGKILL');
    await p.exited;
    await waitFor(() => m.pids().length === 0, 5000, 'the cgroup to empty');
    // a sub-cgroup too: removed bottom-up
    fs.mkdirSync(path.join(Object.values(m.paths())[0], 'child'));
    m.destroy();
    for (const dir of Object.values(m.paths())) expect(fs.existsSync(dir)).toBe(false);
    expect(m.exists()).toBe(false);
  });

  it('an absolute cgroupsPath lands below each mountpoint', () => {
    const name = uniqueId('abs');
    const m = t.adopt(newCgroupManager({ id: 'x', cgroupsPath: `/${name}/inner` }));
    m.create();
    for (const [key, dir] of Object.entries(m.paths())) {
      expect(dir.endsWith(`/${name}/inner`)).toBe(true);
      if (!isV2 && key !== '') expect(dir).toBe(path.posix.join(host.v1.get(key)!.mountpoint, name, 'inner'));
    }
    m.destroy();
    // the parent this test made (runc leaves it; the test cleans it)
    for (const dir of Object.values(m.paths())) fs.rmdirSync(path.dirname(dir));
  });
});

describe('bad input is refused before anything is created or written', () => {
  it.each(['../escape', '/../../escape', 'a/../../escape'])('cgroupsPath %s → InvalidArgument', (p) => {
    let err: unknown;
    try {
      newCgroupManager({ id: uniqueId('bad'), cgroupsPath: p });
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
    expect(String(err)).toMatch(/escapes the cgroup hierarchy/);
  });

  it('the systemd form and --systemd-cgroup say systemd is not running here', () => {
    if (fs.existsSync('/run/systemd/system')) return;
    expect(() => newCgroupManager({ id: 'x', cgroupsPath: 'system.slice:berth:x' })).toThrow(/unsupported: systemd is not running on this host/);
    expect(() => newCgroupManager({ id: 'x', systemd: true })).toThrow(/--systemd-cgroup needs the systemd cgroup driver, which is unsupported/);
  });

  it('cpus the host does not have: refused, and the directories made are gone', () => {
    const m = t.manager('cpus', { resources: { cpu: { cpus: '0-63' } } });
    let err: unknown;
    try {
      m.create();
      m.set({ cpu: { cpus: '0-63' } });
    } catch (e) {
      err = e;
    }
    expect(isFailedPrecondition(err)).toBe(true);
    expect(String(err)).toMatch(/cannot set linux.resources.cpu.cpus to "0-63": .* not available/);
    if (!isV2) for (const dir of Object.values(m.paths())) expect(fs.existsSync(dir)).toBe(false);
  });

  it('a create() that fails half-way removes the directories it made', () => {
    const cpuDir = host.v1.get('cpu')?.mountpoint;
    if (isV2 || !cpuDir || !fs.existsSync(path.join(cpuDir, 'cpu.rt_runtime_us'))) return; // v1 with RT group scheduling only
    // More realtime runtime than the root grants: the kernel refuses it in cpu's set-up,
    // after cpuset, devices and memory made their directories.
    const m = t.manager('halfway', { resources: { cpu: { realtimePeriod: 1000000, realtimeRuntime: 999000 } } });
    expect(() => m.create()).toThrow(/cpu.rt_runtime_us/);
    for (const dir of Object.values(m.paths())) expect(fs.existsSync(dir)).toBe(false);
  });

  it('set() on a cgroup that was never created says so', () => {
    const m = t.manager('nocreate');
    expect(() => m.set({ pids: { limit: 10 } })).toThrow(/does not exist \(create it first\)/);
  });
});
