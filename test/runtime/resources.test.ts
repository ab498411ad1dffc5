/**
 * Resource limits set from config.json and `update`, watched from the kernel's
 * side, and `events` (stats and OOM) as runc prints them.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll, track } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { errorMessage, Runtime, runtimeBinary } from '../support/runtime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIf(requires('root'))('resources through the runtime', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  const cgroupDirs = (pid: number): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
      const [, ctrls, p] = line.split(':');
      for (const c of ctrls.split(',')) out[c] = p;
    }
    return out;
  };
  const v1 = (controller: string, pid: number, file: string) => fs.readFileSync(path.join('/sys/fs/cgroup', controller, cgroupDirs(pid)[controller], file), 'utf8').trim();

  (requires('cgroup-v1') ? test.skip : test)('limits from config.json land in the cgroup files; update changes them live', () => {
    const b = setupBundle(['sleep', '60']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, memory: { limit: 64 << 20 }, pids: { limit: 40 }, cpu: { shares: 512, quota: 20000, period: 100000 } }));
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const pid = rt.state(id).pid;
    expect(v1('memory', pid, 'memory.limit_in_bytes')).toBe(String(64 << 20));
    expect(v1('pids', pid, 'pids.max')).toBe('40');
    expect(v1('cpu', pid, 'cpu.shares')).toBe('512');
    expect(v1('cpu', pid, 'cpu.cfs_quota_us')).toBe('20000');
    rt.ok(['update', '--memory', '128m', '--pids-limit', '80', '--cpu-quota', '50000', id]);
    expect(v1('memory', pid, 'memory.limit_in_bytes')).toBe(String(128 << 20));
    expect(v1('pids', pid, 'pids.max')).toBe('80');
    expect(v1('cpu', pid, 'cpu.cfs_quota_us')).toBe('50000');
    const file = path.join(b.dir, 'r.json');
    fs.writeFileSync(file, JSON.stringify({ pids: { limit: 33 } }));
    rt.ok(['update', '-r', file, id]);
    expect(v1('pids', pid, 'pids.max')).toBe('33');
    // a bad value is refused and nothing changes
    const bad = rt.run(['update', '--memory', 'lots', id]);
    expect(bad.status).toBe(1);
    expect(errorMessage(bad.stderr)).toMatch(/invalid value for memory/);
    expect(v1('memory', pid, 'memory.limit_in_bytes')).toBe(String(128 << 20));
  });

  (requires('cgroup-v2') ? test.skip : test)('on cgroup v2: limits from config.json land in the v2 files; update changes them live', () => {
    const b = setupBundle(['sleep', '60']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, memory: { limit: 64 << 20, swap: 96 << 20 }, pids: { limit: 40 }, cpu: { shares: 1024, quota: 20000, period: 100000 } }));
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const pid = rt.state(id).pid;
    const dir = path.join('/sys/fs/cgroup', cgroupDirs(pid)['']);
    const v2 = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();
    expect(v2('memory.max')).toBe(String(64 << 20));
    expect(v2('memory.swap.max')).toBe(String(32 << 20)); // runc: swap.max = swap - limit
    expect(v2('pids.max')).toBe('40');
    expect(v2('cpu.max')).toBe('20000 100000');
    expect(v2('cpu.weight')).toBe('39'); // runc's shares → weight conversion for 1024
    rt.ok(['update', '--memory', '128m', '--memory-swap', '256m', '--pids-limit', '80', id]);
    expect(v2('memory.max')).toBe(String(128 << 20));
    expect(v2('memory.swap.max')).toBe(String(128 << 20));
    expect(v2('pids.max')).toBe('80');
  });

  test('fork fails past the pids limit', () => {
    const b = setupBundle(['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; wait']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, pids: { limit: 5 } }));
    const r = rt.run(['run', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.stderr).toMatch(/can't fork: Resource temporarily unavailable/);
  });

  test('a memory hog is OOM-killed at its limit, and events reports the OOM', async () => {
    const b = setupBundle(['sh', '-c', 'sleep 0.5; x=a; while :; do x=$x$x$x$x; done']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, memory: { limit: 32 << 20, swap: 32 << 20 } }));
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const events = spawn(runtimeBinary(), ['--root', rt.root, 'events', '--interval', '100ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    track.pid(events.pid!);
    let out = '';
    events.stdout.on('data', (d) => (out += d));
    rt.ok(['start', id]);
    for (let i = 0; i < 300 && !out.includes('"type":"oom"'); i++) await sleep(50);
    expect(out).toContain(`{"type":"oom","id":"${id}"}`);
    for (let i = 0; i < 100 && rt.state(id).status !== 'stopped'; i++) await sleep(50);
    expect(rt.state(id).status).toBe('stopped');
  });

  test('events --stats agrees with the cgroup files', () => {
    const b = setupBundle(['sleep', '60']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, pids: { limit: 77 }, memory: { limit: 100 << 20 } }));
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const ev = JSON.parse(rt.ok(['events', '--stats', id]).stdout);
    expect(ev.type).toBe('stats');
    expect(ev.id).toBe(id);
    expect(ev.data.pids).toEqual({ current: 1, limit: 77 });
    expect(ev.data.memory.usage.limit).toBe(100 << 20);
    expect(ev.data.memory.usage.usage).toBeGreaterThan(0);
    expect(ev.data.cpu.usage.total).toBeGreaterThan(0);
  });

  test('a cpu quota of 0.2 cpu holds a busy loop near 20%', async () => {
    const b = setupBundle(['sh', '-c', 'while :; do :; done']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, cpu: { quota: 20000, period: 100000 } }));
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const usage = () => JSON.parse(rt.ok(['events', '--stats', id]).stdout).data.cpu.usage.total as number;
    await sleep(300);
    const t0 = Date.now();
    const u0 = usage();
    await sleep(1500);
    const share = (usage() - u0) / 1e6 / (Date.now() - t0);
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.35);
  });

  test('limits the host cannot enforce are refused before the container exists', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.linux!.resources = { ...c.linux!.resources, unified: { 'memory.max': '1G' } }));
    const id = uniqueId();
    const r = rt.run(['create', '--bundle', b.dir, rt.track(id)]);
    if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) return; // v2 host: unified is fine there
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/unified/);
    expect(fs.existsSync(path.join(rt.root, id))).toBe(false);
  });
});
