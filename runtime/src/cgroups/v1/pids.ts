/**
 * v1 pids (opencontainers/cgroups fs/pids.go): pids.max; 0 means "unset",
 * a negative limit means "max".
 */
import type { Controller } from '../controller';
import { MAX_UINT64, readUint } from '../files';
import type { CgroupStats } from '../stats';
import { checkInt } from '../validate';

export const pidsLimitValue = (limit: number): string => (limit > 0 ? String(limit) : 'max');

export const pids: Controller = {
  name: 'pids',
  requested: (r) => (r.pids && r.pids.limit !== 0 ? 'pids.limit' : undefined),
  validate(_ctx, r) {
    if (r.pids) checkInt(r.pids.limit, 'linux.resources.pids.limit', -(2 ** 53), 2 ** 53);
  },
  set({ dir }, r, log) {
    if (r.pids && r.pids.limit !== 0) log.write(dir, 'pids.max', pidsLimitValue(r.pids.limit));
  },
  stats(dir: string, s: CgroupStats) {
    s.pids.current = readUint(dir, 'pids.current');
    const max = readUint(dir, 'pids.max');
    s.pids.limit = max === MAX_UINT64 ? 0n : max;
  },
};
