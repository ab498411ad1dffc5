import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shimRoot } from '../protos';

/** stats.ts against a fake cgroupfs at `root` (BERTH_CGROUP_ROOT, read on each use, until the test ends). */
function statsModule(root: string): typeof import('./stats') {
  process.env.BERTH_CGROUP_ROOT = root;
  return require('./stats');
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('cgroup metrics', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cg-')); });
  afterEach(() => {
    delete process.env.BERTH_CGROUP_ROOT;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('reads cgroup v1 controllers into io.containerd.cgroups.v1.Metrics', () => {
    const m = statsModule(root);
    const groups = m.pidCgroups(process.pid);
    const p = (ctrl: string): string => path.join(root, ctrl, groups.get(ctrl) ?? '/');
    for (const ctrl of ['pids', 'cpu', 'cpuacct', 'memory', 'blkio']) if (!groups.has(ctrl)) groups.set(ctrl, '/test');
    write(`${p('pids')}/pids.current`, '3\n');
    write(`${p('pids')}/pids.max`, 'max\n');
    write(`${p('cpuacct')}/cpuacct.usage`, '123456789\n');
    write(`${p('cpuacct')}/cpuacct.usage_percpu`, '100 200 \n');
    write(`${p('cpuacct')}/cpuacct.stat`, 'user 10\nsystem 5\n');
    write(`${p('cpu')}/cpu.stat`, 'nr_periods 7\nnr_throttled 2\nthrottled_time 99\n');
    write(`${p('memory')}/memory.stat`, 'cache 4096\nrss 8192\ntotal_rss 8192\npgfault 11\nhierarchical_memory_limit 1048576\n');
    write(`${p('memory')}/memory.usage_in_bytes`, '12288\n');
    write(`${p('memory')}/memory.limit_in_bytes`, '1048576\n');
    write(`${p('memory')}/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    write(`${p('blkio')}/blkio.throttle.io_service_bytes_recursive`, '8:0 Read 4096\n8:0 Write 0\nTotal 4096\n');
    write(`${p('blkio')}/blkio.throttle.io_serviced_recursive`, '8:0 Read 1\nTotal 1\n');
    const s = m.statsOf(groups);
    expect(s.typeUrl).toBe('io.containerd.cgroups.v1.Metrics');
    const t = shimRoot().lookupType(s.typeUrl);
    const back = t.toObject(t.decode(t.encode(t.fromObject(s.metrics)).finish()), { longs: Number }) as Record<string, any>;
    expect(back.pids).toMatchObject({ current: 3, limit: 0 }); // "max" reads as 0, no limit
    expect(back.cpu.usage).toEqual({ total: 123456789, kernel: 5e7, user: 1e8, perCpu: [100, 200] });
    expect(back.cpu.throttling).toEqual({ periods: 7, throttledPeriods: 2, throttledTime: 99 });
    expect(back.memory).toMatchObject({ cache: 4096, rss: 8192, totalRss: 8192, pgFault: 11, usage: { usage: 12288, limit: 1048576 } });
    expect(back.memoryOomControl).toMatchObject({ oomKill: 2, underOom: 0 });
    expect(back.blkio.ioServiceBytesRecursive).toEqual([{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 0 }]);
    expect(m.oomKillCount(groups)).toBe(2);
  });

  it('reads a unified hierarchy into io.containerd.cgroups.v2.Metrics', () => {
    write(path.join(root, 'cgroup.controllers'), 'cpu memory pids io\n');
    const m = statsModule(root);
    const g = '/test.slice/c1';
    const d = path.join(root, g);
    write(`${d}/pids.current`, '2\n');
    write(`${d}/pids.max`, '100\n');
    write(`${d}/cpu.stat`, 'usage_usec 500\nuser_usec 300\nsystem_usec 200\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n');
    write(`${d}/memory.stat`, 'anon 1000\nfile 2000\npgfault 5\n');
    write(`${d}/memory.current`, '3000\n');
    write(`${d}/memory.max`, 'max\n');
    write(`${d}/memory.events`, 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n');
    write(`${d}/io.stat`, '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
    const s = m.statsOf(new Map([['', g]]));
    expect(s.typeUrl).toBe('io.containerd.cgroups.v2.Metrics');
    const t = shimRoot().lookupType(s.typeUrl);
    const back = t.toObject(t.decode(t.encode(t.fromObject(s.metrics)).finish()), { longs: Number }) as Record<string, any>;
    expect(back.pids).toEqual({ current: 2, limit: 100 });
    expect(back.cpu).toMatchObject({ usageUsec: 500, userUsec: 300, systemUsec: 200, nrPeriods: 0 });
    expect(back.memory).toMatchObject({ anon: 1000, file: 2000, pgfault: 5, usage: 3000 });
    expect(back.memoryEvents).toMatchObject({ max: 4, oom: 1, oomKill: 1 });
    expect(back.io.usage).toEqual([{ major: 8, minor: 0, rbytes: 10, wbytes: 20, rios: 1, wios: 2 }]);
    expect(m.oomKillCount(new Map([['', g]]))).toBe(1);
  });
});
