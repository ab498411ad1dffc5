/**
 * v1 memory (opencontainers/cgroups fs/memory.go).
 *
 * linux.resources.memory.swap is memory+swap: memory.memsw.limit_in_bytes.
 * The kernel wants memsw >= limit at every moment, so the order of the two
 * writes depends on the current limit (runc's setMemoryAndSwap). Kernel memory
 * limits are ignored with a warning, as runc does (the kernel dropped them).
 */
import * as os from 'node:os';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { CgroupFileError, exists, formatInt, parseFlatKeyed, readCgroupFile, readUint, readUintIfExists, readValueByKey } from '../files';
import type { MemoryData, CgroupStats } from '../stats';
import { checkInt } from '../validate';
import type { WriteLog } from '../write-log';
import type { LinuxMemory } from '../../spec/types';
import * as path from 'node:path';

const LIMIT = 'memory.limit_in_bytes';
const MEMSW = 'memory.memsw.limit_in_bytes';

function checkLimit(v: number | undefined, field: string): void {
  if (v === undefined) return;
  checkInt(v, field, -1, 2 ** 63);
}

function setLimit(dir: string, val: number, log: WriteLog): void {
  if (val === 0) return;
  try {
    log.write(dir, LIMIT, formatInt(val));
  } catch (err) {
    if (err instanceof CgroupFileError && err.errno === 'EBUSY') {
      // The kernel cannot go below what is in use: say how much that is.
      const usage = readUint(dir, 'memory.usage_in_bytes');
      const peak = readUint(dir, 'memory.max_usage_in_bytes');
      throw new FailedPreconditionError(`unable to set memory limit to ${val} (current usage: ${usage}, peak usage: ${peak})`, { cause: err });
    }
    throw err;
  }
}

function setSwap(dir: string, val: number, log: WriteLog): void {
  if (val !== 0) log.write(dir, MEMSW, formatInt(val));
}

function setMemoryAndSwap(dir: string, m: LinuxMemory, log: WriteLog): void {
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  // An unlimited memory with no swap given means unlimited swap too.
  if (limit === -1 && swap === 0 && exists(path.join(dir, MEMSW))) swap = -1;
  if (limit !== 0 && swap !== 0) {
    const cur = readUint(dir, LIMIT);
    // Raising: memsw first, so that memsw >= limit holds throughout.
    if (swap === -1 || cur < BigInt(Math.trunc(swap))) {
      setSwap(dir, swap, log);
      setLimit(dir, limit, log);
      return;
    }
  }
  setLimit(dir, limit, log);
  setSwap(dir, swap, log);
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return !!m && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor));
}

export const memory: Controller = {
  name: 'memory',
  requested: (r) => {
    const m = r.memory;
    if (!m) return undefined;
    const any =
      m.limit !== undefined || m.reservation !== undefined || m.swap !== undefined || m.swappiness !== undefined ||
      m.disableOOMKiller !== undefined || m.useHierarchy !== undefined;
    return any ? 'memory limits' : undefined;
  },
  validate({ dir, warn }, r) {
    const m = r.memory;
    if (!m) return;
    checkLimit(m.limit, 'linux.resources.memory.limit');
    checkLimit(m.reservation, 'linux.resources.memory.reservation');
    checkLimit(m.swap, 'linux.resources.memory.swap');
    if (m.kernel !== undefined || m.kernelTCP !== undefined) warn('Kernel memory settings are ignored and will be removed');
    if (m.swap !== undefined && m.swap !== 0 && !exists(path.join(dir, MEMSW))) {
      throw new FailedPreconditionError(
        'cannot set linux.resources.memory.swap: the kernel does not account swap (memory.memsw.limit_in_bytes is absent; boot with swapaccount=1)',
      );
    }
    if (m.limit !== undefined && m.limit > 0 && m.swap !== undefined && m.swap > 0 && m.swap < m.limit) {
      throw new InvalidArgumentError(`linux.resources.memory.swap (${m.swap}) is memory+swap and must be >= memory.limit (${m.limit})`);
    }
    if (m.swap !== undefined && m.swap > 0 && (m.limit === undefined || m.limit === 0)) {
      // memsw must stay >= the current limit.
      const cur = readUint(dir, LIMIT);
      if (BigInt(Math.trunc(m.swap)) < cur) {
        throw new InvalidArgumentError(`linux.resources.memory.swap (${m.swap}) is memory+swap and must be >= the memory limit in place (${cur})`);
      }
    }
    if (m.swappiness !== undefined && m.swappiness !== -1) checkInt(m.swappiness, 'linux.resources.memory.swappiness', 0, 100);
    if (m.checkBeforeUpdate && m.limit !== undefined && m.limit > 0) {
      const usage = readUint(dir, 'memory.usage_in_bytes');
      if (BigInt(Math.trunc(m.limit)) < usage) {
        throw new FailedPreconditionError(`unable to set memory limit to ${m.limit}: below the current usage ${usage} (checkBeforeUpdate)`);
      }
    }
    if (m.useHierarchy === false) {
      const parent = readUintIfExists(path.dirname(dir), 'memory.use_hierarchy');
      if (parent === 1n || kernelAtLeast(5, 16)) {
        throw new FailedPreconditionError('cannot set linux.resources.memory.useHierarchy to false: the kernel (or the parent cgroup) always uses the hierarchy');
      }
    }
  },
  set({ dir }, r, log) {
    const m = r.memory;
    if (!m) return;
    setMemoryAndSwap(dir, m, log);
    if (m.reservation !== undefined && m.reservation !== 0) log.write(dir, 'memory.soft_limit_in_bytes', formatInt(m.reservation));
    if (m.disableOOMKiller !== undefined) {
      const old = readValueByKey(dir, 'memory.oom_control', 'oom_kill_disable');
      if (m.disableOOMKiller || old !== 0n) log.write(dir, 'memory.oom_control', m.disableOOMKiller ? '1' : '0', old.toString());
    }
    if (m.swappiness !== undefined && m.swappiness !== -1) log.write(dir, 'memory.swappiness', String(m.swappiness));
    if (m.useHierarchy === true && readUint(dir, 'memory.use_hierarchy') !== 1n) log.write(dir, 'memory.use_hierarchy', '1');
  },
  stats(dir: string, s: CgroupStats) {
    const raw = readCgroupFile(dir, 'memory.stat');
    for (const [k, v] of parseFlatKeyed(raw, `${dir}/memory.stat`)) s.memory.stats[k] = v;
    s.memory.cache = s.memory.stats.cache ?? 0n;
    s.memory.usage = memoryData(dir, '')!;
    s.memory.swapUsage = memoryData(dir, 'memsw') ?? s.memory.swapUsage;
    s.memory.kernelUsage = memoryData(dir, 'kmem') ?? s.memory.kernelUsage;
    s.memory.kernelTCPUsage = memoryData(dir, 'kmem.tcp') ?? s.memory.kernelTCPUsage;
    s.memory.useHierarchy = readUint(dir, 'memory.use_hierarchy') === 1n;
  },
};

/** usage/max_usage/failcnt/limit of memory, memory.memsw, memory.kmem or memory.kmem.tcp (undefined when absent). */
function memoryData(dir: string, name: string): MemoryData | undefined {
  const mod = name ? `memory.${name}` : 'memory';
  const usage = readUintIfExists(dir, `${mod}.usage_in_bytes`);
  if (usage === undefined) {
    if (name) return undefined;
    readUint(dir, `${mod}.usage_in_bytes`); // throws the real error
  }
  return {
    usage: usage ?? 0n,
    maxUsage: readUint(dir, `${mod}.max_usage_in_bytes`),
    failcnt: readUint(dir, `${mod}.failcnt`),
    limit: readUint(dir, `${mod}.limit_in_bytes`),
  };
}
