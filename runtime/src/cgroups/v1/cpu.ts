/**
 * v1 cpu (opencontainers/cgroups fs/cpu.go): shares, CFS quota/period/burst,
 * idle, and realtime runtime/period. The realtime budget is set in create(),
 * before the init joins: a SCHED_RR/FIFO task cannot join a cgroup that has
 * no realtime runtime.
 */
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { CgroupFileError, exists, formatInt, parseFlatKeyed, readCgroupFileIfExists, writeCgroupFile } from '../files';
import type { CgroupStats } from '../stats';
import { checkInt } from '../validate';
import type { WriteLog } from '../write-log';
import type { LinuxCPU } from '../../spec/types';

/** kernel/sched/core.c: MIN_SHARES 2, MAX_SHARES 1 << 18. */
const MIN_SHARES = 2;
const MAX_SHARES = 262144;

function requireFile(dir: string, file: string, field: string): void {
  if (!exists(path.join(dir, file))) {
    throw new FailedPreconditionError(`cannot set ${field}: this kernel has no ${file}`);
  }
}

function setRt(c: LinuxCPU | undefined, write: (file: string, v: string) => void): void {
  if (c?.realtimePeriod) write('cpu.rt_period_us', formatInt(c.realtimePeriod));
  if (c?.realtimeRuntime) write('cpu.rt_runtime_us', formatInt(c.realtimeRuntime));
}

export function validateCpu(c: LinuxCPU, dir: string | undefined, files: { burst: string; rt?: boolean }): void {
  if (c.quota !== undefined && c.quota !== 0 && c.quota !== -1) checkInt(c.quota, 'linux.resources.cpu.quota', 1000, 2 ** 53);
  if (c.period !== undefined && c.period !== 0) checkInt(c.period, 'linux.resources.cpu.period', 1000, 1_000_000);
  if (c.burst !== undefined) {
    checkInt(c.burst, 'linux.resources.cpu.burst', 0, 2 ** 53);
    if (dir) requireFile(dir, files.burst, 'linux.resources.cpu.burst');
    if (c.burst > 0 && (c.quota === undefined || c.quota <= 0) && dir) {
      // The kernel wants burst <= quota; without a quota there is nothing to burst above.
      const cur = readCgroupFileIfExists(dir, files.burst === 'cpu.max.burst' ? 'cpu.max' : 'cpu.cfs_quota_us')?.trim() ?? '';
      if (cur.startsWith('max') || cur === '-1') throw new InvalidArgumentError('linux.resources.cpu.burst needs a cpu quota');
    }
    if (c.quota !== undefined && c.quota > 0 && c.burst > c.quota) {
      throw new InvalidArgumentError(`linux.resources.cpu.burst (${c.burst}) must not exceed the quota (${c.quota})`);
    }
  }
  if (c.idle !== undefined) {
    checkInt(c.idle, 'linux.resources.cpu.idle', 0, 1);
    if (dir) requireFile(dir, 'cpu.idle', 'linux.resources.cpu.idle');
  }
}

export const cpu: Controller = {
  name: 'cpu',
  requested: (r) => {
    const c = r.cpu;
    if (!c) return undefined;
    const any =
      !!c.shares || !!c.quota || !!c.period || c.burst !== undefined || !!c.realtimeRuntime || !!c.realtimePeriod || c.idle !== undefined;
    return any ? 'cpu shares/quota/period' : undefined;
  },
  validate({ dir }, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.shares !== undefined && c.shares !== 0) {
      checkInt(c.shares, 'linux.resources.cpu.shares', 0, 2 ** 53);
      // runc writes, reads back and complains; refuse up front instead.
      if (c.shares > MAX_SHARES) throw new InvalidArgumentError(`the maximum allowed cpu-shares is ${MAX_SHARES}`);
      if (c.shares < MIN_SHARES) throw new InvalidArgumentError(`the minimum allowed cpu-shares is ${MIN_SHARES}`);
    }
    validateCpu(c, dir, { burst: 'cpu.cfs_burst_us' });
    if (c.realtimeRuntime || c.realtimePeriod) {
      requireFile(dir, 'cpu.rt_runtime_us', 'linux.resources.cpu.realtimeRuntime (the kernel has no CONFIG_RT_GROUP_SCHED)');
      if (c.realtimeRuntime !== undefined && c.realtimeRuntime !== -1) checkInt(c.realtimeRuntime, 'linux.resources.cpu.realtimeRuntime', 0, 2 ** 53);
      if (c.realtimePeriod !== undefined) checkInt(c.realtimePeriod, 'linux.resources.cpu.realtimePeriod', 0, 2 ** 53);
    }
  },
  create({ dir }, r) {
    if (!r.cpu?.realtimeRuntime && !r.cpu?.realtimePeriod) return;
    requireFile(dir, 'cpu.rt_runtime_us', 'linux.resources.cpu.realtimeRuntime (the kernel has no CONFIG_RT_GROUP_SCHED)');
    setRt(r.cpu, (f, v) => writeCgroupFile(dir, f, v));
  },
  set({ dir }, r, log) {
    const c = r.cpu;
    if (!c) return;
    if (c.shares) log.write(dir, 'cpu.shares', formatInt(c.shares));
    if (c.idle !== undefined) log.write(dir, 'cpu.idle', String(c.idle));
    setQuota(dir, c, log);
    setRt(c, (f, v) => log.write(dir, f, v));
  },
  stats(dir: string, s: CgroupStats) {
    const content = readCgroupFileIfExists(dir, 'cpu.stat');
    if (content === undefined) return;
    const st = parseFlatKeyed(content, `${dir}/cpu.stat`);
    s.cpu.throttling.periods = st.get('nr_periods') ?? 0n;
    s.cpu.throttling.throttledPeriods = st.get('nr_throttled') ?? 0n;
    s.cpu.throttling.throttledTime = st.get('throttled_time') ?? 0n;
  },
};

/**
 * Period, quota and burst. A smaller period can be refused (EINVAL) while the
 * old quota exceeds what the parent allows: then retry it after the quota, as
 * runc does; burst likewise must stay <= quota.
 */
function setQuota(dir: string, c: LinuxCPU, log: WriteLog): void {
  let period = c.period ? formatInt(c.period) : '';
  if (period) {
    try {
      log.write(dir, 'cpu.cfs_period_us', period);
      period = '';
    } catch (err) {
      if (!(err instanceof CgroupFileError && err.errno === 'EINVAL') || !c.quota) throw err;
    }
  }
  let burst = c.burst !== undefined ? formatInt(c.burst) : '';
  if (burst) {
    try {
      log.write(dir, 'cpu.cfs_burst_us', burst);
      burst = '';
    } catch (err) {
      if (!(err instanceof CgroupFileError && err.errno === 'EINVAL') || !c.quota) throw err;
    }
  }
  if (c.quota) {
    log.write(dir, 'cpu.cfs_quota_us', formatInt(c.quota));
    if (period) log.write(dir, 'cpu.cfs_period_us', period);
    if (burst) log.write(dir, 'cpu.cfs_burst_us', burst);
  }
}
