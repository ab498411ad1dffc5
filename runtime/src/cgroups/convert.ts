/**
 * The OCI resources are written in cgroup v1 terms; these convert them for
 * cgroup v2 exactly as runc does (libcontainer/cgroups/utils.go).
 */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

/**
 * cpu.shares [2, 262144] → cpu.weight [1, 10000], linearly:
 * y = 1 + ((x - 2) * 9999) / 262142 (integer division). 0 stays "unset".
 */
export function convertCPUSharesToCgroupV2Value(shares: number): number {
  if (shares === 0) return 0;
  return Number(1n + ((BigInt(shares) - 2n) * 9999n) / 262142n);
}

/**
 * blkio.weight [10, 1000] → io.weight [1, 10000], linearly:
 * y = 1 + (x - 10) * 9999 / 990 (integer division). 0 stays "unset".
 */
export function convertBlkIOToIOWeightValue(weight: number): number {
  if (weight === 0) return 0;
  return Number(1n + ((BigInt(weight) - 10n) * 9999n) / 990n);
}

/**
 * linux.resources.memory.swap is memory+swap (v1 memsw); v2's memory.swap.max
 * is swap alone: swap - limit. -1 is "max"; 0 is "unset". With an unlimited
 * memory and no swap given, swap becomes unlimited too (v1 compatibility).
 */
export function convertMemorySwapToCgroupV2Value(memorySwap: number, memory: number): number {
  if (memory === -1 && memorySwap === 0) return -1;
  if (memorySwap === -1 || memorySwap === 0) return memorySwap;
  if (memory === 0 || memory === -1) throw new InvalidArgumentError('unable to set swap limit without memory limit');
  if (memory < 0) throw new InvalidArgumentError(`invalid memory value: ${memory}`);
  if (memorySwap < memory) throw new InvalidArgumentError('memory+swap limit should be >= memory limit');
  return memorySwap - memory;
}
