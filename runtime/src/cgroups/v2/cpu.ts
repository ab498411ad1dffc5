/**
 * v2 cpu (opencontainers/cgroups fs2/cpu.go): cpu.weight (from the OCI
 * shares, converted as runc's ConvertCPUSharesToCgroupV2Value), cpu.max
 * "quota period", cpu.max.burst and cpu.idle. Realtime group scheduling does
 * not exist on v2: asking for it is an error.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { convertCPUSharesToCgroupV2Value } from '../convert';
import { CgroupFileError, formatInt, parseFlatKeyed, readCgroupFile } from '../files';
import type { CgroupStats } from '../stats';
import { checkInt } from '../validate';
import { validateCpu } from '../v1/cpu';

export const cpu: Controller = {
  name: 'cpu',
  requested: (r) => {
    const c = r.cpu;
    if (!c) return undefined;
    return c.shares || c.quota || c.period || c.burst !== undefined || c.idle !== undefined || c.realtimeRuntime || c.realtimePeriod
      ? 'cpu shares/quota/period'
      : undefined;
  },
  validate({ dir }, r) {
    const c = r.cpu;
    if (!c) return;
    if (c.realtimeRuntime || c.realtimePeriod) {
      throw new FailedPreconditionError('cannot set linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime group scheduling');
    }
    if (c.shares) {
      checkInt(c.shares, 'linux.resources.cpu.shares', 2, 262144);
      const w = convertCPUSharesToCgroupV2Value(c.shares);
      if (w < 1 || w > 10000) throw new InvalidArgumentError(`linux.resources.cpu.shares ${c.shares} gives cpu.weight ${w}, outside [1, 10000]`);
    }
    validateCpu(c, dir, { burst: 'cpu.max.burst' });
  },
  set({ dir }, r, log) {
    const c = r.cpu;
    if (!c) return;
    if (c.idle !== undefined) log.write(dir, 'cpu.idle', String(c.idle));
    if (c.shares) log.write(dir, 'cpu.weight', String(convertCPUSharesToCgroupV2Value(c.shares)));
    let burst = c.burst !== undefined ? formatInt(c.burst) : '';
    if (burst) {
      try {
        log.write(dir, 'cpu.max.burst', burst);
        burst = '';
      } catch (err) {
        // A burst above the old quota is refused: retry after the quota.
        if (!(err instanceof CgroupFileError && err.errno === 'EINVAL') || !c.quota) throw err;
      }
    }
    if (c.quota || c.period) {
      const quota = c.quota && c.quota > 0 ? formatInt(c.quota) : 'max';
      log.write(dir, 'cpu.max', `${quota} ${formatInt(c.period || 100000)}`);
      if (burst) log.write(dir, 'cpu.max.burst', burst);
    }
  },
  stats(dir: string, s: CgroupStats) {
    const st = parseFlatKeyed(readCgroupFile(dir, 'cpu.stat'), `${dir}/cpu.stat`);
    const u = s.cpu.usage;
    u.totalUsage = (st.get('usage_usec') ?? 0n) * 1000n;
    u.usageInUsermode = (st.get('user_usec') ?? 0n) * 1000n;
    u.usageInKernelmode = (st.get('system_usec') ?? 0n) * 1000n;
    s.cpu.throttling.periods = st.get('nr_periods') ?? 0n;
    s.cpu.throttling.throttledPeriods = st.get('nr_throttled') ?? 0n;
    s.cpu.throttling.throttledTime = (st.get('throttled_usec') ?? 0n) * 1000n;
  },
};
