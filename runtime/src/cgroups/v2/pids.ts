/** v2 pids (opencontainers/cgroups fs2/pids.go): pids.max; 0 is "unset", negative is "max". */
import type { Controller } from '../controller';
import { MAX_UINT64, readCgroupFile, readUintIfExists, readUint } from '../files';
import type { CgroupStats } from '../stats';
import { pids as v1Pids, pidsLimitValue } from '../v1/pids';

export const pids: Controller = {
  name: 'pids',
  requested: v1Pids.requested,
  validate: v1Pids.validate,
  set({ dir }, r, log) {
    if (r.pids && r.pids.limit !== 0) log.write(dir, 'pids.max', pidsLimitValue(r.pids.limit));
  },
  stats(dir: string, s: CgroupStats) {
    const current = readUintIfExists(dir, 'pids.current');
    if (current === undefined) {
      // No pids controller here: count the processes (runc's statPidsFromCgroupProcs).
      s.pids.current = BigInt(readCgroupFile(dir, 'cgroup.procs').split('\n').filter(Boolean).length);
      s.pids.limit = 0n;
      return;
    }
    s.pids.current = current;
    const max = readUint(dir, 'pids.max');
    s.pids.limit = max === MAX_UINT64 ? 0n : max;
  },
};
