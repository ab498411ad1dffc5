/**
 * v1 cpuacct (opencontainers/cgroups fs/cpuacct.go): accounting only, for stats.
 * cpuacct.stat counts in USER_HZ ticks (100 on Linux); runc converts to ns.
 */
import type { Controller } from '../controller';
import { exists, readCgroupFile, readCgroupFileIfExists, readUint } from '../files';
import type { CgroupStats } from '../stats';
import { InvalidArgumentError } from '../../../../proto/src/errdefs';

const NS_PER_TICK = 1_000_000_000n / 100n;

function numbers(s: string): bigint[] {
  return s.split(/\s+/).filter(Boolean).map((v) => BigInt(v));
}

export const cpuacct: Controller = {
  name: 'cpuacct',
  stats(dir: string, s: CgroupStats) {
    if (!exists(dir)) return;
    const stat = readCgroupFile(dir, 'cpuacct.stat').split(/\s+/);
    if (stat.length < 4 || stat[0] !== 'user' || stat[2] !== 'system') {
      throw new InvalidArgumentError(`unable to parse ${dir}/cpuacct.stat: ${JSON.stringify(stat.join(' '))}`);
    }
    const u = s.cpu.usage;
    u.usageInUsermode = BigInt(stat[1]) * NS_PER_TICK;
    u.usageInKernelmode = BigInt(stat[3]) * NS_PER_TICK;
    u.totalUsage = readUint(dir, 'cpuacct.usage');
    u.percpuUsage = numbers(readCgroupFile(dir, 'cpuacct.usage_percpu'));
    // cpuacct.usage_all: "cpu user system" per line after a header.
    const all = readCgroupFileIfExists(dir, 'cpuacct.usage_all');
    u.percpuUsageInKernelmode = [];
    u.percpuUsageInUsermode = [];
    if (all !== undefined) {
      for (const line of all.split('\n').slice(1)) {
        const f = line.split(' ');
        if (f.length !== 3) continue;
        u.percpuUsageInUsermode.push(BigInt(f[1]));
        u.percpuUsageInKernelmode.push(BigInt(f[2]));
      }
    }
  },
};
