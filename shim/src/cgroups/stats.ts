/**
 * A task's cgroup metrics, read straight from cgroupfs the way
 * containerd/cgroups does for containerd-shim-runc-v2's Stats: v1 (and
 * hybrid) hosts give io.containerd.cgroups.v1.Metrics, unified hosts
 * io.containerd.cgroups.v2.Metrics. Field names are protobufjs' camelCase
 * of proto/types/cgroups/v{1,2}/metrics.proto. A file a controller lacks
 * reads as zero (cgroups.IgnoreNotExist).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The cgroup mount root; read when used (the shim's start-up snapshot is built before its environment exists). */
const cgroupRoot = (): string => process.env.BERTH_CGROUP_ROOT ?? '/sys/fs/cgroup';
/** USER_HZ: cpuacct.stat counts in these ticks. */
const USER_HZ = 100;

export function isUnified(): boolean {
  return fs.existsSync(path.join(cgroupRoot(), 'cgroup.controllers'));
}

/** controller → cgroup path of a pid, from /proc/PID/cgroup ("" key for v2). */
export function pidCgroups(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] === '') out.set('', m[3]);
    for (const c of m[2].split(',')) if (c) out.set(c.replace(/^name=/, ''), m[3]);
  }
  return out;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function num(s: string): number {
  const t = s.trim();
  if (t === '' || t === 'max') return 0;
  const v = Number(t);
  return Number.isFinite(v) ? v : 0;
}

function kv(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = num(v);
  }
  return out;
}

/** The metrics type name and object for a task's cgroups (pidCgroups() of its init). */
export function statsOf(groups: Map<string, string>): { typeUrl: string; metrics: object } {
  if (isUnified()) {
    const p = groups.get('');
    if (p === undefined) throw new Error('no cgroup v2 path');
    return { typeUrl: 'io.containerd.cgroups.v2.Metrics', metrics: v2Stats(path.join(cgroupRoot(), p)) };
  }
  return { typeUrl: 'io.containerd.cgroups.v1.Metrics', metrics: v1Stats(groups) };
}

function v1Stats(groups: Map<string, string>): object {
  const dir = (c: string): string | undefined => {
    const p = groups.get(c);
    return p === undefined ? undefined : path.join(cgroupRoot(), c, p);
  };
  const m: Record<string, unknown> = {};

  const pids = dir('pids');
  if (pids) m.pids = { current: num(read(`${pids}/pids.current`)), limit: num(read(`${pids}/pids.max`)) };

  const acct = dir('cpuacct');
  const cpu = dir('cpu');
  if (acct || cpu) {
    const st = acct ? kv(read(`${acct}/cpuacct.stat`)) : {};
    const thr = cpu ? kv(read(`${cpu}/cpu.stat`)) : {};
    m.cpu = {
      usage: {
        total: acct ? num(read(`${acct}/cpuacct.usage`)) : 0,
        kernel: ((st.system ?? 0) * 1e9) / USER_HZ,
        user: ((st.user ?? 0) * 1e9) / USER_HZ,
        perCpu: acct ? read(`${acct}/cpuacct.usage_percpu`).trim().split(/\s+/).filter(Boolean).map(num) : [],
      },
      throttling: { periods: thr.nr_periods ?? 0, throttledPeriods: thr.nr_throttled ?? 0, throttledTime: thr.throttled_time ?? 0 },
    };
  }

  const mem = dir('memory');
  if (mem) {
    const s = kv(read(`${mem}/memory.stat`));
    const entry = (prefix: string): object => ({
      limit: num(read(`${mem}/${prefix}.limit_in_bytes`)),
      usage: num(read(`${mem}/${prefix}.usage_in_bytes`)),
      max: num(read(`${mem}/${prefix}.max_usage_in_bytes`)),
      failcnt: num(read(`${mem}/${prefix}.failcnt`)),
    });
    m.memory = {
      cache: s.cache, rss: s.rss, rssHuge: s.rss_huge, mappedFile: s.mapped_file, dirty: s.dirty,
      writeback: s.writeback, pgPgIn: s.pgpgin, pgPgOut: s.pgpgout, pgFault: s.pgfault, pgMajFault: s.pgmajfault,
      inactiveAnon: s.inactive_anon, activeAnon: s.active_anon, inactiveFile: s.inactive_file, activeFile: s.active_file,
      unevictable: s.unevictable, hierarchicalMemoryLimit: s.hierarchical_memory_limit,
      hierarchicalSwapLimit: s.hierarchical_memsw_limit, totalCache: s.total_cache, totalRss: s.total_rss,
      totalRssHuge: s.total_rss_huge, totalMappedFile: s.total_mapped_file, totalDirty: s.total_dirty,
      totalWriteback: s.total_writeback, totalPgPgIn: s.total_pgpgin, totalPgPgOut: s.total_pgpgout,
      totalPgFault: s.total_pgfault, totalPgMajFault: s.total_pgmajfault, totalInactiveAnon: s.total_inactive_anon,
      totalActiveAnon: s.total_active_anon, totalInactiveFile: s.total_inactive_file, totalActiveFile: s.total_active_file,
      totalUnevictable: s.total_unevictable,
      usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTcp: entry('memory.kmem.tcp'),
    };
    const oom = kv(read(`${mem}/memory.oom_control`));
    m.memoryOomControl = { oomKillDisable: oom.oom_kill_disable ?? 0, underOom: oom.under_oom ?? 0, oomKill: oom.oom_kill ?? 0 };
  }

  const blk = dir('blkio');
  if (blk) {
    const names: [string, string][] = [
      ['ioServiceBytesRecursive', 'io_service_bytes_recursive'], ['ioServicedRecursive', 'io_serviced_recursive'],
      ['ioQueuedRecursive', 'io_queued_recursive'], ['ioServiceTimeRecursive', 'io_service_time_recursive'],
      ['ioWaitTimeRecursive', 'io_wait_time_recursive'], ['ioMergedRecursive', 'io_merged_recursive'],
      ['ioTimeRecursive', 'time_recursive'], ['sectorsRecursive', 'sectors_recursive'],
    ];
    // CFQ files when the kernel has them, else the throttle policy's (cgroups blkio.go)
    const cfq = fs.existsSync(`${blk}/blkio.io_serviced_recursive`);
    const b: Record<string, object[]> = {};
    for (const [field, file] of names) {
      if (!cfq && field !== 'ioServiceBytesRecursive' && field !== 'ioServicedRecursive') continue;
      b[field] = blkioEntries(read(`${blk}/blkio.${cfq ? '' : 'throttle.'}${file}`));
    }
    m.blkio = b;
  }

  const huge = dir('hugetlb');
  if (huge) {
    m.hugetlb = hugePageSizes(huge, 'hugetlb.', '.usage_in_bytes').map((size) => ({
      pagesize: size,
      usage: num(read(`${huge}/hugetlb.${size}.usage_in_bytes`)),
      max: num(read(`${huge}/hugetlb.${size}.max_usage_in_bytes`)),
      failcnt: num(read(`${huge}/hugetlb.${size}.failcnt`)),
    }));
  }
  return m;
}

function blkioEntries(text: string): object[] {
  const out: object[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 2 || f[0] === 'Total') continue;
    const [maj, min] = f[0].split(':').map(Number);
    if (f.length === 3) out.push({ major: maj, minor: min, op: f[1], value: num(f[2]) });
    else out.push({ major: maj, minor: min, op: '', value: num(f[1]) });
  }
  return out;
}

function hugePageSizes(dir: string, prefix: string, suffix: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith(suffix))
      .map((n) => n.slice(prefix.length, -suffix.length)).filter((s) => !s.includes('.'));
  } catch {
    return [];
  }
}

function v2Stats(dir: string): object {
  const m: Record<string, unknown> = {};
  m.pids = { current: num(read(`${dir}/pids.current`)), limit: num(read(`${dir}/pids.max`)) };
  const c = kv(read(`${dir}/cpu.stat`));
  m.cpu = {
    usageUsec: c.usage_usec ?? 0, userUsec: c.user_usec ?? 0, systemUsec: c.system_usec ?? 0,
    nrPeriods: c.nr_periods ?? 0, nrThrottled: c.nr_throttled ?? 0, throttledUsec: c.throttled_usec ?? 0,
  };
  const s = kv(read(`${dir}/memory.stat`));
  m.memory = {
    anon: s.anon, file: s.file, kernelStack: s.kernel_stack, slab: s.slab, sock: s.sock, shmem: s.shmem,
    fileMapped: s.file_mapped, fileDirty: s.file_dirty, fileWriteback: s.file_writeback, anonThp: s.anon_thp,
    inactiveAnon: s.inactive_anon, activeAnon: s.active_anon, inactiveFile: s.inactive_file, activeFile: s.active_file,
    unevictable: s.unevictable, slabReclaimable: s.slab_reclaimable, slabUnreclaimable: s.slab_unreclaimable,
    pgfault: s.pgfault, pgmajfault: s.pgmajfault, workingsetRefault: s.workingset_refault,
    workingsetActivate: s.workingset_activate, workingsetNodereclaim: s.workingset_nodereclaim, pgrefill: s.pgrefill,
    pgscan: s.pgscan, pgsteal: s.pgsteal, pgactivate: s.pgactivate, pgdeactivate: s.pgdeactivate,
    pglazyfree: s.pglazyfree, pglazyfreed: s.pglazyfreed, thpFaultAlloc: s.thp_fault_alloc,
    thpCollapseAlloc: s.thp_collapse_alloc,
    usage: num(read(`${dir}/memory.current`)), usageLimit: num(read(`${dir}/memory.max`)),
    swapUsage: num(read(`${dir}/memory.swap.current`)), swapLimit: num(read(`${dir}/memory.swap.max`)),
  };
  const e = kv(read(`${dir}/memory.events`));
  m.memoryEvents = { low: e.low ?? 0, high: e.high ?? 0, max: e.max ?? 0, oom: e.oom ?? 0, oomKill: e.oom_kill ?? 0 };
  const io: object[] = [];
  for (const line of read(`${dir}/io.stat`).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!f[0] || !f[0].includes(':')) continue;
    const [major, minor] = f[0].split(':').map(Number);
    const v: Record<string, number> = {};
    for (const pair of f.slice(1)) {
      const [k, val] = pair.split('=');
      v[k] = num(val ?? '0');
    }
    io.push({ major, minor, rbytes: v.rbytes ?? 0, wbytes: v.wbytes ?? 0, rios: v.rios ?? 0, wios: v.wios ?? 0 });
  }
  m.io = { usage: io };
  m.hugetlb = hugePageSizes(dir, 'hugetlb.', '.current').map((size) => ({
    pagesize: size,
    current: num(read(`${dir}/hugetlb.${size}.current`)),
    max: num(read(`${dir}/hugetlb.${size}.max`)),
  }));
  return m;
}

/** The container's memory cgroup directory (the reaper watches it for OOMs), if it has one. */
export function memoryCgroup(groups: Map<string, string>): { kind: 'v1' | 'v2'; dir: string } | undefined {
  if (isUnified()) {
    const p = groups.get('');
    return p === undefined ? undefined : { kind: 'v2', dir: path.join(cgroupRoot(), p) };
  }
  const p = groups.get('memory');
  return p === undefined ? undefined : { kind: 'v1', dir: path.join(cgroupRoot(), 'memory', p) };
}

/** The memory cgroup's OOM-kill counter, for TaskOOM detection (0 when unknown). */
export function oomKillCount(groups: Map<string, string>): number {
  const m = memoryCgroup(groups);
  return m === undefined ? 0 : kv(read(path.join(m.dir, m.kind === 'v2' ? 'memory.events' : 'memory.oom_control'))).oom_kill ?? 0;
}
