/**
 * Cgroup statistics, shaped like opencontainers/cgroups' stats.go (what each
 * controller fills in), and their conversion to what `runc events --stats`
 * prints (runc types/events.go, events.go convertLibcontainerStats).
 *
 * Counters are bigint: cgroup files hold u64 values (an unlimited v1 memory
 * limit is 9223372036854771712, "max" is 2^64-1) that a double cannot carry.
 */

export interface ThrottlingData {
  periods: bigint;
  throttledPeriods: bigint;
  throttledTime: bigint;
}

export interface CpuUsage {
  totalUsage: bigint;
  percpuUsage: bigint[];
  percpuUsageInKernelmode: bigint[];
  percpuUsageInUsermode: bigint[];
  usageInKernelmode: bigint;
  usageInUsermode: bigint;
}

export interface CPUSetStats {
  cpus: number[];
  cpuExclusive: bigint;
  mems: number[];
  memHardwall: bigint;
  memExclusive: bigint;
  memoryMigrate: bigint;
  memorySpreadPage: bigint;
  memorySpreadSlab: bigint;
  memoryPressure: bigint;
  schedLoadBalance: bigint;
  schedRelaxDomainLevel: bigint;
}

export interface MemoryData {
  usage: bigint;
  maxUsage: bigint;
  failcnt: bigint;
  limit: bigint;
}

export interface MemoryStats {
  cache: bigint;
  usage: MemoryData;
  swapUsage: MemoryData;
  kernelUsage: MemoryData;
  kernelTCPUsage: MemoryData;
  useHierarchy: boolean;
  /** memory.stat, key by key. */
  stats: Record<string, bigint>;
}

export interface BlkioStatEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioStatEntry[];
  ioServicedRecursive: BlkioStatEntry[];
  ioQueuedRecursive: BlkioStatEntry[];
  ioServiceTimeRecursive: BlkioStatEntry[];
  ioWaitTimeRecursive: BlkioStatEntry[];
  ioMergedRecursive: BlkioStatEntry[];
  ioTimeRecursive: BlkioStatEntry[];
  sectorsRecursive: BlkioStatEntry[];
}

export interface HugetlbStats {
  usage: bigint;
  maxUsage: bigint;
  failcnt: bigint;
}

export interface RdmaEntry {
  device: string;
  hcaHandles: bigint;
  hcaObjects: bigint;
}

export interface CgroupStats {
  cpu: { usage: CpuUsage; throttling: ThrottlingData };
  cpuset: CPUSetStats;
  memory: MemoryStats;
  pids: { current: bigint; limit: bigint };
  blkio: BlkioStats;
  /** Page size ("2MB") → usage. */
  hugetlb: Record<string, HugetlbStats>;
  rdma: { limit: RdmaEntry[]; current: RdmaEntry[] };
}

const memoryData = (): MemoryData => ({ usage: 0n, maxUsage: 0n, failcnt: 0n, limit: 0n });

/** An empty record, every counter 0 (cgroups.NewStats). */
export function newStats(): CgroupStats {
  return {
    cpu: {
      usage: { totalUsage: 0n, percpuUsage: [], percpuUsageInKernelmode: [], percpuUsageInUsermode: [], usageInKernelmode: 0n, usageInUsermode: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    cpuset: {
      cpus: [],
      cpuExclusive: 0n,
      mems: [],
      memHardwall: 0n,
      memExclusive: 0n,
      memoryMigrate: 0n,
      memorySpreadPage: 0n,
      memorySpreadSlab: 0n,
      memoryPressure: 0n,
      schedLoadBalance: 0n,
      schedRelaxDomainLevel: 0n,
    },
    memory: { cache: 0n, usage: memoryData(), swapUsage: memoryData(), kernelUsage: memoryData(), kernelTCPUsage: memoryData(), useHierarchy: false, stats: {} },
    pids: { current: 0n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {},
    rdma: { limit: [], current: [] },
  };
}

// ---------------------------------------------------------------- runc events JSON

/** A JSON value where u64 counters stay bigint until printed. */
type Json = bigint | number | string | boolean | null | Json[] | { [k: string]: Json };

// Go's encoding/json `omitempty`: drop zero numbers, empty strings, empty slices and maps.
function put(o: { [k: string]: Json }, key: string, v: Json, omitempty: boolean): void {
  if (omitempty) {
    if (v === 0n || v === 0 || v === '' || v === false || v === null) return;
    if (Array.isArray(v) && v.length === 0) return;
  }
  o[key] = v;
}

function memoryEntry(d: MemoryData): Json {
  const o: { [k: string]: Json } = {};
  put(o, 'limit', d.limit, false);
  put(o, 'usage', d.usage, true);
  put(o, 'max', d.maxUsage, true);
  put(o, 'failcnt', d.failcnt, false);
  return o;
}

function blkioEntries(list: BlkioStatEntry[]): Json {
  return list.map((e) => {
    const o: { [k: string]: Json } = {};
    put(o, 'major', e.major, true);
    put(o, 'minor', e.minor, true);
    put(o, 'op', e.op, true);
    put(o, 'value', e.value, true);
    return o;
  });
}

/** Go prints map keys sorted. */
function sortedRecord<T>(r: Record<string, T>, f: (v: T) => Json): { [k: string]: Json } {
  const o: { [k: string]: Json } = {};
  for (const k of Object.keys(r).sort()) o[k] = f(r[k]);
  return o;
}

/** The `data` of runc's {"type":"stats"} event (types.Stats), field by field in runc's order. */
export function toRuncEventStats(s: CgroupStats): Json {
  const usage: { [k: string]: Json } = {};
  put(usage, 'total', s.cpu.usage.totalUsage, true);
  put(usage, 'percpu', s.cpu.usage.percpuUsage, true);
  put(usage, 'percpu_kernel', s.cpu.usage.percpuUsageInKernelmode, true);
  put(usage, 'percpu_user', s.cpu.usage.percpuUsageInUsermode, true);
  put(usage, 'kernel', s.cpu.usage.usageInKernelmode, false);
  put(usage, 'user', s.cpu.usage.usageInUsermode, false);
  const throttling: { [k: string]: Json } = {};
  put(throttling, 'periods', s.cpu.throttling.periods, true);
  put(throttling, 'throttledPeriods', s.cpu.throttling.throttledPeriods, true);
  put(throttling, 'throttledTime', s.cpu.throttling.throttledTime, true);

  const c = s.cpuset;
  const cpuset: { [k: string]: Json } = {};
  put(cpuset, 'cpus', c.cpus, true);
  put(cpuset, 'cpu_exclusive', c.cpuExclusive, false);
  put(cpuset, 'mems', c.mems, true);
  put(cpuset, 'mem_hardwall', c.memHardwall, false);
  put(cpuset, 'mem_exclusive', c.memExclusive, false);
  put(cpuset, 'memory_migrate', c.memoryMigrate, false);
  put(cpuset, 'memory_spread_page', c.memorySpreadPage, false);
  put(cpuset, 'memory_spread_slab', c.memorySpreadSlab, false);
  put(cpuset, 'memory_pressure', c.memoryPressure, false);
  put(cpuset, 'sched_load_balance', c.schedLoadBalance, false);
  put(cpuset, 'sched_relax_domain_level', c.schedRelaxDomainLevel, false);

  const memory: { [k: string]: Json } = {};
  put(memory, 'cache', s.memory.cache, true);
  memory.usage = memoryEntry(s.memory.usage);
  memory.swap = memoryEntry(s.memory.swapUsage);
  memory.kernel = memoryEntry(s.memory.kernelUsage);
  memory.kernelTCP = memoryEntry(s.memory.kernelTCPUsage);
  if (Object.keys(s.memory.stats).length > 0) memory.raw = sortedRecord(s.memory.stats, (v) => v);

  const pids: { [k: string]: Json } = {};
  put(pids, 'current', s.pids.current, true);
  put(pids, 'limit', s.pids.limit, true);

  const b = s.blkio;
  const blkio: { [k: string]: Json } = {};
  put(blkio, 'ioServiceBytesRecursive', blkioEntries(b.ioServiceBytesRecursive), true);
  put(blkio, 'ioServicedRecursive', blkioEntries(b.ioServicedRecursive), true);
  put(blkio, 'ioQueueRecursive', blkioEntries(b.ioQueuedRecursive), true);
  put(blkio, 'ioServiceTimeRecursive', blkioEntries(b.ioServiceTimeRecursive), true);
  put(blkio, 'ioWaitTimeRecursive', blkioEntries(b.ioWaitTimeRecursive), true);
  put(blkio, 'ioMergedRecursive', blkioEntries(b.ioMergedRecursive), true);
  put(blkio, 'ioTimeRecursive', blkioEntries(b.ioTimeRecursive), true);
  put(blkio, 'sectorsRecursive', blkioEntries(b.sectorsRecursive), true);

  const hugetlb = sortedRecord(s.hugetlb, (h) => {
    const o: { [k: string]: Json } = {};
    put(o, 'usage', h.usage, true);
    put(o, 'max', h.maxUsage, true);
    put(o, 'failcnt', h.failcnt, false);
    return o;
  });

  return {
    cpu: { usage, throttling },
    cpuset,
    memory,
    pids,
    blkio,
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** JSON.stringify that prints bigint counters as plain JSON numbers, exactly (as Go prints uint64). */
export function stringifyWithU64(value: unknown): string {
  const marker = '\u0000u64:';
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? marker + v.toString() : v));
  return text.replace(/"\\u0000u64:(-?\d+)"/g, '$1');
}

/** One line of `runc events --stats`: {"type":"stats","id":...,"data":{...}}. */
export function formatStatsEvent(id: string, s: CgroupStats): string {
  return stringifyWithU64({ type: 'stats', id, data: toRuncEventStats(s) });
}
