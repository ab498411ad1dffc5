/**
 * Controller writes against a temp directory of plain files standing in for
 * cgroup files (as opencontainers/cgroups fs/util_test.go): what is written,
 * in what order, and that a refused write rolls the earlier ones back.
 * A file that is a directory makes its write fail (EISDIR).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isFailedPrecondition, isInvalidArgument } from '../../../proto/src/errdefs';
import type { LinuxResources } from '../spec/types';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';
import { formatStatsEvent } from './stats';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cg-unit-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function fake(dir: string, files: Record<string, string | null>): string {
  const d = path.join(root, dir);
  fs.mkdirSync(d, { recursive: true });
  for (const [f, v] of Object.entries(files)) {
    if (v === null) fs.mkdirSync(path.join(d, f));
    else fs.writeFileSync(path.join(d, f), v);
  }
  return d;
}
const read = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');

const memFiles = (limit: string, memsw: string): Record<string, string> => ({
  'memory.limit_in_bytes': limit,
  'memory.memsw.limit_in_bytes': memsw,
  'memory.soft_limit_in_bytes': '9223372036854771712\n',
  'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
  'memory.swappiness': '60\n',
  'memory.use_hierarchy': '1\n',
  'memory.usage_in_bytes': '4096\n',
  'memory.max_usage_in_bytes': '8192\n',
});

describe('v1 memory and swap', () => {
  it('raising: memsw first, then the limit (memsw >= limit at every step)', () => {
    const dir = fake('memory', memFiles('1000\n', '1000\n'));
    const m = new V1Manager('v1', { memory: dir, devices: fake('devices', {}) });
    m.set({ memory: { limit: 2000, swap: 4000 } });
    expect(read(dir, 'memory.limit_in_bytes')).toBe('2000');
    expect(read(dir, 'memory.memsw.limit_in_bytes')).toBe('4000');
  });

  // A readable number that refuses writes even to root: a sysfs attribute without a store method.
  const readOnlyNumber = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
  (fs.existsSync(readOnlyNumber) ? it : it.skip)('raising: a refused limit rolls the memsw write back', () => {
    const dir = fake('memory', memFiles('1000\n', '1000\n'));
    fs.rmSync(path.join(dir, 'memory.limit_in_bytes'));
    fs.symlinkSync(readOnlyNumber, path.join(dir, 'memory.limit_in_bytes'));
    const m = new V1Manager('v1', { memory: dir, devices: fake('devices', {}) });
    expect(() => m.set({ memory: { limit: 2000, swap: 4000 } })).toThrow(/failed to write "2000" to `.*memory.limit_in_bytes`: EACCES/);
    expect(read(dir, 'memory.memsw.limit_in_bytes')).toBe('1000');
  });

  it('lowering: the limit first, rolled back when memsw is refused', () => {
    const dir = fake('memory', { ...memFiles('5000\n', '9000\n') });
    fs.rmSync(path.join(dir, 'memory.memsw.limit_in_bytes'));
    fs.mkdirSync(path.join(dir, 'memory.memsw.limit_in_bytes'));
    const m = new V1Manager('v1', { memory: dir, devices: fake('devices', {}) });
    expect(() => m.set({ memory: { limit: 1000, swap: 2000 } })).toThrow(/EISDIR/);
    expect(read(dir, 'memory.limit_in_bytes')).toBe('5000');
  });

  it('writes reservation, oom_control, swappiness', () => {
    const dir = fake('memory', memFiles('1000\n', '1000\n'));
    const m = new V1Manager('v1', { memory: dir, devices: fake('devices', {}) });
    m.set({ memory: { reservation: 512, disableOOMKiller: true, swappiness: 10 } });
    expect(read(dir, 'memory.soft_limit_in_bytes')).toBe('512');
    expect(read(dir, 'memory.oom_control')).toBe('1');
    expect(read(dir, 'memory.swappiness')).toBe('10');
  });

  it('refuses swap below the limit and bad swappiness before writing', () => {
    const dir = fake('memory', memFiles('1000\n', '1000\n'));
    const m = new V1Manager('v1', { memory: dir, devices: fake('devices', {}) });
    expect(() => m.set({ memory: { limit: 2000, swap: 1000 } })).toThrow(/must be >= memory.limit/);
    expect(() => m.set({ memory: { limit: 2000, swappiness: 101 } })).toThrow(/swappiness: 101 is out of range/);
    expect(read(dir, 'memory.limit_in_bytes')).toBe('1000\n');
  });

  it('warns about kernel memory and ignores it, as runc', () => {
    const dir = fake('memory', memFiles('1000\n', '1000\n'));
    const warnings: string[] = [];
    const m = new V1Manager('v1', { memory: dir, devices: fake('devices', {}) }, { warn: (msg) => warnings.push(msg) });
    m.set({ memory: { limit: 3000, kernel: 100, kernelTCP: 100 } });
    expect(warnings).toEqual(['Kernel memory settings are ignored and will be removed']);
  });
});

describe('validate first, write nothing on refusal', () => {
  it('a missing controller stops set() before the pids write', () => {
    const pids = fake('pids', { 'pids.max': 'max\n' });
    const m = new V1Manager('v1', { pids, devices: fake('devices', {}) });
    let err: unknown;
    try {
      m.set({ pids: { limit: 10 }, hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }] });
    } catch (e) {
      err = e;
    }
    expect(isFailedPrecondition(err)).toBe(true);
    expect(String(err)).toMatch(/cannot set hugepageLimits: the hugetlb cgroup controller is not mounted/);
    expect(read(pids, 'pids.max')).toBe('max\n');
  });

  it('unified on v1 is refused with runc\'s words', () => {
    const m = new V1Manager('v1', { devices: fake('devices', {}) });
    expect(() => m.set({ unified: { 'memory.high': '1' } })).toThrow(/invalid configuration: cannot use unified on cgroup v1/);
  });

  it('a kernel refusal half-way undoes the earlier controllers', () => {
    // Order is runc's: cpu, then pids. pids.max refuses (a directory).
    const pids = fake('pids', { 'pids.max': null });
    const cpu = fake('cpu', { 'cpu.shares': '1024\n', 'cpu.cfs_quota_us': '-1\n', 'cpu.cfs_period_us': '100000\n' });
    const m = new V1Manager('v1', { pids, cpu, devices: fake('devices', {}) });
    expect(() => m.set({ pids: { limit: 10 }, cpu: { shares: 512, quota: 20000, period: 50000 } })).toThrow(/pids.max`: EISDIR/);
    expect(read(cpu, 'cpu.shares')).toBe('1024');
    expect(read(cpu, 'cpu.cfs_quota_us')).toBe('-1');
    expect(read(cpu, 'cpu.cfs_period_us')).toBe('100000');
  });

  it('cpu: runc\'s bounds, checked before writing', () => {
    const cpu = fake('cpu', { 'cpu.shares': '1024\n' });
    const m = new V1Manager('v1', { cpu, devices: fake('devices', {}) });
    expect(() => m.set({ cpu: { shares: 1 << 20 } })).toThrow('the maximum allowed cpu-shares is 262144');
    expect(() => m.set({ cpu: { shares: 1 } })).toThrow('the minimum allowed cpu-shares is 2');
    expect(() => m.set({ cpu: { quota: 10 } })).toThrow(/quota: 10 is out of range/);
    expect(() => m.set({ cpu: { burst: 1000, quota: 20000 } })).toThrow(/this kernel has no cpu.cfs_burst_us/);
  });
});

describe('v2 writes', () => {
  const v2files = (): Record<string, string> => ({
    'cgroup.controllers': 'cpu memory pids io\n',
    'memory.max': 'max\n',
    'memory.swap.max': 'max\n',
    'memory.low': '0\n',
    'cpu.weight': '100\n',
    'cpu.max': 'max 100000\n',
    'pids.max': 'max\n',
    'io.max': '',
  });

  it('converts swap (memory+swap → swap), shares → weight, quota/period → cpu.max', () => {
    const dir = fake('v2', v2files());
    new V2Manager(dir).set({ memory: { limit: 1000, swap: 3000, reservation: 10 }, cpu: { shares: 1024, quota: 20000 }, pids: { limit: -1 } });
    expect(read(dir, 'memory.max')).toBe('1000');
    expect(read(dir, 'memory.swap.max')).toBe('2000');
    expect(read(dir, 'memory.low')).toBe('10');
    expect(read(dir, 'cpu.weight')).toBe('39');
    expect(read(dir, 'cpu.max')).toBe('20000 100000');
    expect(read(dir, 'pids.max')).toBe('max');
  });

  it('swap equal to the limit means no swap: memory.swap.max 0', () => {
    const dir = fake('v2', v2files());
    new V2Manager(dir).set({ memory: { limit: 1000, swap: 1000 } });
    expect(read(dir, 'memory.swap.max')).toBe('0');
  });

  it.each<[string, LinuxResources, RegExp]>([
    ['disableOOMKiller', { memory: { disableOOMKiller: true } }, /no way to disable the OOM killer/],
    ['swappiness', { memory: { swappiness: 10 } }, /no per-cgroup swappiness/],
    ['realtime', { cpu: { realtimeRuntime: 1000 } }, /no realtime group scheduling/],
    ['net_cls', { network: { classID: 1 } }, /net_cls and net_prio do not exist on cgroup v2/],
    ['leaf weight', { blockIO: { leafWeight: 100 } }, /no leaf weight/],
    ['a missing controller', { hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, /hugetlb controller is not enabled/],
    ['unified with a slash', { unified: { '../x': '1' } }, /must be a file name/],
    ['unified of a missing controller', { unified: { 'rdma.max': 'x' } }, /controller "rdma" not available/],
    ['swap without memory limit', { memory: { swap: 1000 } }, /unable to set swap limit without memory limit/],
  ])('refuses %s and writes nothing', (_name, r, msg) => {
    const dir = fake('v2', v2files());
    const before = v2files();
    expect(() => new V2Manager(dir).set({ pids: { limit: 5 }, ...r })).toThrow(msg);
    for (const [f, v] of Object.entries(before)) expect(read(dir, f)).toBe(v);
  });

  it('unified values win over the named resources', () => {
    const dir = fake('v2', v2files());
    new V2Manager(dir).set({ pids: { limit: 5 }, unified: { 'pids.max': '7' } });
    expect(read(dir, 'pids.max')).toBe('7');
  });

  it('bad input is InvalidArgument, host limits are FailedPrecondition', () => {
    const dir = fake('v2', v2files());
    const kind = (r: LinuxResources): string => {
      try {
        new V2Manager(dir).set(r);
        return 'ok';
      } catch (e) {
        return isInvalidArgument(e) ? 'InvalidArgument' : isFailedPrecondition(e) ? 'FailedPrecondition' : String(e);
      }
    };
    expect(kind({ cpu: { shares: 1 } })).toBe('InvalidArgument');
    expect(kind({ memory: { disableOOMKiller: true } })).toBe('FailedPrecondition');
  });
});

describe('stats as runc events --stats prints them', () => {
  it('v2: from memory.stat, cpu.stat, io.stat, pids', () => {
    const dir = fake('v2', {
      'cgroup.controllers': 'cpu memory pids io\n',
      'pids.current': '3\n',
      'pids.max': 'max\n',
      'memory.stat': 'anon 4096\nfile 8192\n',
      'memory.current': '12288\n',
      'memory.max': 'max\n',
      'memory.swap.current': '0\n',
      'memory.swap.max': 'max\n',
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
      'io.stat': '8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
    });
    const line = formatStatsEvent('c1', new V2Manager(dir).stats());
    const ev = JSON.parse(line);
    expect(ev.type).toBe('stats');
    expect(ev.data.cpu.usage).toEqual({ total: 1500000, kernel: 500000, user: 1000000 });
    expect(ev.data.pids).toEqual({ current: 3 });
    expect(ev.data.memory.cache).toBe(8192);
    expect(ev.data.memory.usage).toEqual({ limit: 18446744073709552000, usage: 12288, failcnt: 0 });
    // u64 precision is kept in the text:
    expect(line).toContain('"usage":{"limit":18446744073709551615,"usage":12288,"failcnt":0}');
    expect(line).toContain('"swap":{"limit":18446744073709551615,"usage":12288,"failcnt":0}');
    expect(ev.data.blkio.ioServiceBytesRecursive).toEqual([
      { major: 8, op: 'Read', value: 4096 },
      { major: 8, op: 'Write' },
    ]);
    expect(ev.data.hugetlb).toEqual({});
    expect(ev.data.intel_rdt).toEqual({});
    expect(ev.data.network_interfaces).toBeNull();
  });
});
