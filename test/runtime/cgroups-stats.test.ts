/**
 * stats: the figures agree with the cgroup files, and the `events --stats`
 * JSON has the shape and values runc prints for the same cgroup (a real runc
 * container, whose state.json cgroup_paths berth loads as its own).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCgroupManager } from '../../runtime/src/cgroups/new';
import { formatStatsEvent } from '../../runtime/src/cgroups/stats';
import { BUSYBOX, CgroupTracker, describeIf, isV2, uniqueId, waitFor } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

const read = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
const num = (dir: string, f: string): bigint => BigInt(read(dir, f).trim());
const keys = (text: string): string[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[0])
    .sort();

describe('stats agree with the cgroup files', () => {
  it('memory, pids, cpu, cpuset', async () => {
    const m = t.manager('stats');
    m.create();
    m.set({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } });
    t.start(m, 'sleep 30 & sleep 30 & wait');
    // the shell and its two sleeps (a fixed wait lost to a loaded machine)
    await waitFor(() => m.stats().pids.current === 3n, 5000, 'the three processes');
    const p = m.paths();
    const memDir = isV2 ? p[''] : p.memory;
    const cpuDir = isV2 ? p[''] : p.cpuacct;
    const memUsage = (): bigint => num(memDir, isV2 ? 'memory.current' : 'memory.usage_in_bytes');
    const cpuBefore = isV2 ? BigInt(/^usage_usec (\d+)$/m.exec(read(cpuDir, 'cpu.stat'))![1]) * 1000n : num(cpuDir, 'cpuacct.usage');
    const memBefore = memUsage();
    const maxBefore = isV2 ? 0n : num(memDir, 'memory.max_usage_in_bytes');
    const s = m.stats();
    const maxAfter = isV2 ? 0n : num(memDir, 'memory.max_usage_in_bytes');
    const memAfter = memUsage();
    const cpuAfter = isV2 ? BigInt(/^usage_usec (\d+)$/m.exec(read(cpuDir, 'cpu.stat'))![1]) * 1000n : num(cpuDir, 'cpuacct.usage');

    // Plain numbers in the assertions: a failure's report must cross jest's
    // worker channel, which cannot carry BigInts (it would hide which one failed).
    expect({ current: Number(s.pids.current), limit: Number(s.pids.limit) }).toEqual({ current: 3, limit: 50 });
    const within = (v: bigint, lo: bigint, hi: bigint): string => (v >= lo && v <= hi ? 'within' : `${v} outside [${lo}, ${hi}]`);
    expect(within(s.cpu.usage.totalUsage, cpuBefore, cpuAfter)).toBe('within');
    expect(Number(s.memory.usage.limit)).toBe(64 * 1024 * 1024);
    // the charge can move between reads (per-cpu charge caches): between the two around it
    const [lo, hi] = memBefore < memAfter ? [memBefore, memAfter] : [memAfter, memBefore];
    expect(within(s.memory.usage.usage, lo, hi)).toBe('within');
    expect(Object.keys(s.memory.stats).sort()).toEqual(keys(read(memDir, 'memory.stat')));
    expect(String(s.memory.cache)).toBe(String(s.memory.stats[isV2 ? 'file' : 'cache']));
    if (!isV2) {
      expect(s.cpu.usage.percpuUsage.length).toBe(os.cpus().length);
      expect(s.cpuset.cpus.length).toBeGreaterThan(0);
      // the high-water mark only grows, and can while the stats are read
      expect(within(s.memory.usage.maxUsage, maxBefore, maxAfter)).toBe('within');
    }
  });
});

/** A busybox bundle for runc, in a fresh temp dir. */
function runcBundle(dir: string): string {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(bundle, 'rootfs', 'bin', 'busybox'));
  fs.chmodSync(path.join(bundle, 'rootfs', 'bin', 'busybox'), 0o755);
  execFileSync('runc', ['spec'], { cwd: bundle });
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['/bin/busybox', 'sleep', '300'];
  config.linux.resources = { ...config.linux.resources, memory: { limit: 50 * 1024 * 1024 }, pids: { limit: 20 } };
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

const hasRunc = (() => {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Fields that move between two reads; compared by presence only. */
const VOLATILE = /^(cpu\.usage\.|cpu\.throttling\.|memory\.(raw\.|usage\.(usage|max)|swap\.(usage|max)|kernel\.(usage|max)|kernelTCP\.(usage|max)|cache))/;

function flatten(v: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = v;
  }
  return out;
}

describeIf(hasRunc, 'runc is not installed')('events --stats beside runc', () => {
  let tmp: string;
  let root: string;
  let id: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-runc-stats-'));
    root = path.join(tmp, 'state');
    id = uniqueId('runc');
  });
  afterEach(() => {
    try {
      execFileSync('runc', ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
    } catch {
      // not created
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the same keys, and the same values where they do not move', async () => {
    const bundle = runcBundle(tmp);
    execFileSync('runc', ['--root', root, 'run', '-d', '--bundle', bundle, id], { stdio: 'ignore' });
    const state = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8'));
    // runc's own state.json paths load as a berth manager: the same format
    const m = loadCgroupManager(state.cgroup_paths);
    // `run -d` returns once the init is told to go: wait for its exec (Go threads gone)
    await waitFor(() => m.stats().pids.current === 1n, 5000, 'the container to settle');
    const ours = JSON.parse(formatStatsEvent(id, m.stats()));
    const theirs = JSON.parse(execFileSync('runc', ['--root', root, 'events', '--stats', id], { encoding: 'utf8' }));
    expect(ours.type).toBe(theirs.type);
    expect(ours.id).toBe(theirs.id);
    const a = flatten(ours.data);
    const b = flatten(theirs.data);
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(b)) if (!VOLATILE.test(k)) expect([k, a[k]]).toEqual([k, b[k]]);
    expect(a['memory.usage.limit']).toBe(50 * 1024 * 1024);
    expect(a['pids.limit']).toBe(20);
  });
});
