/**
 * The other resources, on whatever this host has: block I/O throttling
 * enforced on the disk under a real file, weights, cpu burst/idle/realtime,
 * hugetlb; and what the host lacks (a controller that is not mounted or not
 * enabled, an RDMA device that does not exist) is refused with a clear error
 * before anything is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFailedPrecondition } from '../../proto/src/errdefs';
import { hugePageSizes } from '../../runtime/src/cgroups/detect';
import type { LinuxResources } from '../../runtime/src/spec/types';
import { CgroupTracker, describeIf, host, isV2 } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

const MiB = 1024 * 1024;
const read = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8').trim();
const has = (dir: string, f: string): boolean => fs.existsSync(path.join(dir, f));

/** A file of at least 2 MiB on a real block device (the TypeScript compiler, in node_modules). */
const BIG_FILE = path.resolve('node_modules/typescript/lib/typescript.js'); // jest runs from the repository root
function blockDeviceOf(file: string): { major: number; minor: number } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const dev = fs.statSync(file).dev;
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  return fs.existsSync(`/sys/dev/block/${major}:${minor}/queue`) ? { major, minor } : undefined;
}
const disk = blockDeviceOf(BIG_FILE);

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    expect(isFailedPrecondition(e)).toBe(true);
    return String(e);
  }
  throw new Error('expected a refusal');
}

describeIf(!!disk, 'node_modules is not on a plain block device here')('block I/O', () => {
  it('a read throttle of 1 MiB/s holds a 2 MiB direct read to about 2 s, and the bytes show in stats', async () => {
    const m = t.manager('blkio');
    m.create();
    m.set({ blockIO: { throttleReadBpsDevice: [{ ...disk!, rate: MiB }] } });
    const dir = m.paths()[isV2 ? '' : 'blkio'];
    const id = `${disk!.major}:${disk!.minor}`;
    if (isV2) expect(read(dir, 'io.max')).toContain(`${id} rbps=${MiB} `);
    else expect(read(dir, 'blkio.throttle.read_bps_device')).toBe(`${id} ${MiB}`);
    const started = Date.now();
    const p = t.start(m, `dd if=${BIG_FILE} of=/dev/null bs=64k count=32 iflag=direct 2>&1`);
    expect((await p.exited).code).toBe(0);
    const elapsed = (Date.now() - started) / 1000;
    expect(elapsed).toBeGreaterThan(1.0); // unthrottled this takes milliseconds
    const bytes = m.stats().blkio.ioServiceBytesRecursive.filter((e) => `${e.major}:${e.minor}` === id && e.op === 'Read');
    expect(bytes.length).toBe(1);
    expect(bytes[0].value).toBeGreaterThanOrEqual(BigInt(2 * MiB));
  });

  it('weight: blkio.bfq.weight / blkio.weight on v1, io.bfq.weight or io.weight (converted) on v2', () => {
    const m = t.manager('weight');
    m.create();
    const dir = m.paths()[isV2 ? '' : 'blkio'];
    const file = ['blkio.weight', 'blkio.bfq.weight', 'io.bfq.weight', 'io.weight'].find((f) => has(dir, f));
    if (!file) {
      expect(refusal(() => m.set({ blockIO: { weight: 500 } }))).toMatch(/blockIO.weight/);
      return;
    }
    m.set({ blockIO: { weight: 500 } });
    const want = file === 'io.weight' ? '4950' : '500';
    expect(read(dir, file).split('\n')[0].replace(/^default /, '')).toBe(want);
  });
});

describe('cpu extras', () => {
  it('burst and idle, where the kernel has them', () => {
    const m = t.manager('burst');
    m.create();
    const dir = m.paths()[isV2 ? '' : 'cpu'];
    const burstFile = isV2 ? 'cpu.max.burst' : 'cpu.cfs_burst_us';
    const r: LinuxResources = { cpu: { quota: 50000, period: 100000, burst: 20000, idle: 0 } };
    if (!has(dir, burstFile) || !has(dir, 'cpu.idle')) {
      expect(refusal(() => m.set(r))).toMatch(/this kernel has no/);
      return;
    }
    m.set(r);
    expect(read(dir, burstFile)).toBe('20000');
    expect(read(dir, 'cpu.idle')).toBe('0');
    expect(read(dir, isV2 ? 'cpu.max' : 'cpu.cfs_quota_us')).toBe(isV2 ? '50000 100000' : '50000');
  });

  it('realtime runtime: set before the process joins on v1, refused on v2', () => {
    const rt = { cpu: { realtimePeriod: 1000000, realtimeRuntime: 10000 } };
    const m = t.manager('rt', { resources: rt });
    m.create();
    if (isV2) {
      expect(refusal(() => m.set(rt))).toMatch(/no realtime group scheduling/);
      return;
    }
    if (!has(m.paths().cpu, 'cpu.rt_runtime_us')) {
      expect(refusal(() => m.set(rt))).toMatch(/CONFIG_RT_GROUP_SCHED/);
      return;
    }
    expect(read(m.paths().cpu, 'cpu.rt_runtime_us')).toBe('10000'); // by create(), before any task
    m.set(rt);
    t.start(m, 'sleep 30');
  });
});

describe('hugetlb', () => {
  const size = hugePageSizes().includes('2MB') ? '2MB' : hugePageSizes()[0];
  it('a limit per page size where the controller is there, a clear refusal where not', () => {
    const m = t.manager('hugetlb');
    m.create();
    const r: LinuxResources = { hugepageLimits: [{ pageSize: size ?? '2MB', limit: 4 * MiB }], pids: { limit: 7 } };
    const enabled = isV2 ? fs.readFileSync(path.join(m.paths()[''], 'cgroup.controllers'), 'utf8').includes('hugetlb') : host.v1.has('hugetlb');
    if (!size || !enabled) {
      expect(refusal(() => m.set(r))).toMatch(/cannot set hugepageLimits: the hugetlb (cgroup )?controller is not (mounted|enabled)/);
      expect(read(m.paths()[isV2 ? '' : 'pids'], 'pids.max')).toBe('max');
      return;
    }
    m.set(r);
    const dir = m.paths()[isV2 ? '' : 'hugetlb'];
    expect(read(dir, isV2 ? `hugetlb.${size}.max` : `hugetlb.${size}.limit_in_bytes`)).toBe(String(4 * MiB));
    expect(Object.keys(m.stats().hugetlb)).toContain(size);
  });

  it('a page size the kernel does not have is refused', () => {
    const m = t.manager('hugebad');
    m.create();
    expect(() => m.set({ hugepageLimits: [{ pageSize: '3MB', limit: 1 }] })).toThrow(/invalid hugepage size "3MB"|hugetlb (cgroup )?controller is not/);
  });
});

describe('what the host lacks', () => {
  it('rdma: no controller here, or no such device', () => {
    const m = t.manager('rdma');
    m.create();
    expect(refusal(() => m.set({ rdma: { mlx5_0: { hcaHandles: 10 } } }))).toMatch(
      /rdma (cgroup )?controller is not (mounted|enabled)|no such RDMA device on this host/,
    );
  });

  it('network classID and priorities: v1 net_cls/net_prio when mounted, refused otherwise', () => {
    const m = t.manager('net');
    m.create();
    const r: LinuxResources = { network: { classID: 0x100001, priorities: [{ name: 'lo', priority: 3 }] } };
    if (!isV2 && host.v1.has('net_cls') && host.v1.has('net_prio')) {
      m.set(r);
      expect(read(m.paths().net_cls, 'net_cls.classid')).toBe(String(0x100001));
      expect(read(m.paths().net_prio, 'net_prio.ifpriomap')).toMatch(/^lo 3$/m);
      return;
    }
    expect(refusal(() => m.set(r))).toMatch(/net_cls/);
  });
});
