/**
 * v2 memory (opencontainers/cgroups fs2/memory.go): memory.max,
 * memory.swap.max (= swap - limit: the OCI value is memory+swap, runc's
 * ConvertMemorySwapToCgroupV2Value) and memory.low for the reservation.
 * What v2 has no file for (disableOOMKiller, swappiness, useHierarchy=false)
 * is refused rather than silently dropped; kernel memory is ignored with a
 * warning, as runc does.
 */
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { convertMemorySwapToCgroupV2Value } from '../convert';
import { exists, formatInt, MAX_UINT64, parseFlatKeyed, readCgroupFile, readUint, readUintIfExists } from '../files';
import type { CgroupStats } from '../stats';
import { checkInt } from '../validate';

/** runc's numToStr: 0 → unset, -1 → "max". */
function numToStr(v: number): string {
  return v === 0 ? '' : v === -1 ? 'max' : formatInt(v);
}

function refuse(field: string, why: string): never {
  throw new FailedPreconditionError(`cannot set linux.resources.memory.${field}: ${why}`);
}

export const memory: Controller = {
  name: 'memory',
  requested: (r) => {
    const m = r.memory;
    if (!m) return undefined;
    const any =
      !!m.limit || !!m.reservation || !!m.swap || m.disableOOMKiller === true || (m.swappiness !== undefined && m.swappiness !== -1) ||
      m.useHierarchy === false;
    return any ? 'memory limits' : undefined;
  },
  validate({ dir, warn }, r) {
    const m = r.memory;
    if (!m) return;
    for (const k of ['limit', 'reservation', 'swap'] as const) if (m[k] !== undefined) checkInt(m[k], `linux.resources.memory.${k}`, -1, 2 ** 63);
    if (m.kernel !== undefined || m.kernelTCP !== undefined) warn('Kernel memory settings are ignored and will be removed');
    if (m.disableOOMKiller === true) refuse('disableOOMKiller', 'cgroup v2 has no way to disable the OOM killer');
    if (m.swappiness !== undefined && m.swappiness !== -1) refuse('swappiness', 'cgroup v2 has no per-cgroup swappiness');
    if (m.useHierarchy === false) refuse('useHierarchy', 'cgroup v2 is always hierarchical');
    const swap = convertMemorySwapToCgroupV2Value(m.swap ?? 0, m.limit ?? 0);
    if ((swap !== 0 || (m.swap ?? 0) > 0) && !exists(path.join(dir, 'memory.swap.max'))) {
      if (swap !== -1) refuse('swap', 'the kernel does not account swap (memory.swap.max is absent)');
    }
    if (m.checkBeforeUpdate && m.limit !== undefined && m.limit > 0) {
      const usage = readUint(dir, 'memory.current');
      if (BigInt(Math.trunc(m.limit)) < usage) {
        throw new FailedPreconditionError(`unable to set memory limit to ${m.limit}: below the current usage ${usage} (checkBeforeUpdate)`);
      }
    }
  },
  set({ dir }, r, log) {
    const m = r.memory;
    if (!m) return;
    if (!(m.limit || m.reservation || m.swap)) return;
    const swap = convertMemorySwapToCgroupV2Value(m.swap ?? 0, m.limit ?? 0);
    let swapStr = numToStr(swap);
    // swap == limit means "no swap": swap.max 0 (numToStr would say "unset").
    if (swapStr === '' && swap === 0 && (m.swap ?? 0) > 0) swapStr = '0';
    if (swapStr !== '' && exists(path.join(dir, 'memory.swap.max'))) log.write(dir, 'memory.swap.max', swapStr);
    const limit = numToStr(m.limit ?? 0);
    if (limit !== '') log.write(dir, 'memory.max', limit);
    const low = numToStr(m.reservation ?? 0);
    if (low !== '') log.write(dir, 'memory.low', low);
  },
  stats(dir: string, s: CgroupStats) {
    for (const [k, v] of parseFlatKeyed(readCgroupFile(dir, 'memory.stat'), `${dir}/memory.stat`)) s.memory.stats[k] = v;
    s.memory.cache = s.memory.stats.file ?? 0n;
    s.memory.useHierarchy = true;
    s.memory.usage = { usage: readUint(dir, 'memory.current'), maxUsage: 0n, failcnt: 0n, limit: readUint(dir, 'memory.max') };
    const swapUsage = readUintIfExists(dir, 'memory.swap.current');
    if (swapUsage !== undefined) {
      // runc reports swap as memory+swap, like v1's memsw.
      const swapLimit = readUint(dir, 'memory.swap.max');
      s.memory.swapUsage = {
        usage: swapUsage + s.memory.usage.usage,
        maxUsage: 0n,
        failcnt: 0n,
        limit: swapLimit === MAX_UINT64 ? swapLimit : swapLimit + s.memory.usage.limit,
      };
    }
  },
};
