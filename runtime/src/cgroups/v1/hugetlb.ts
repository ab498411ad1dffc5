/**
 * v1 hugetlb (opencontainers/cgroups fs/hugetlb.go): one limit file per page
 * size, named as the kernel names sizes ("2MB", "1GB").
 */
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { hugePageSizes } from '../detect';
import { exists, formatInt, readUint } from '../files';
import type { CgroupStats } from '../stats';
import { checkInt } from '../validate';
import type { LinuxResources } from '../../spec/types';

/** Refuses page sizes the kernel does not have, and limits that are not byte counts. */
export function validateHugepages(r: LinuxResources, dir: string, fileFor: (size: string) => string): void {
  const sizes = hugePageSizes();
  (r.hugepageLimits ?? []).forEach((l, i) => {
    const field = `linux.resources.hugepageLimits[${i}]`;
    if (!sizes.includes(l.pageSize)) {
      throw new InvalidArgumentError(`${field}: invalid hugepage size ${JSON.stringify(l.pageSize)} (this kernel has: ${sizes.join(', ') || 'none'})`);
    }
    checkInt(l.limit, `${field}.limit`, 0, 2 ** 64);
    if (!exists(path.join(dir, fileFor(l.pageSize)))) {
      throw new FailedPreconditionError(`cannot set ${field}: ${fileFor(l.pageSize)} is absent`);
    }
  });
}

export const hugetlb: Controller = {
  name: 'hugetlb',
  requested: (r) => (r.hugepageLimits?.length ? 'hugepageLimits' : undefined),
  validate({ dir }, r) {
    validateHugepages(r, dir, (size) => `hugetlb.${size}.limit_in_bytes`);
  },
  set({ dir }, r, log) {
    for (const l of r.hugepageLimits ?? []) log.write(dir, `hugetlb.${l.pageSize}.limit_in_bytes`, formatInt(l.limit));
  },
  stats(dir: string, s: CgroupStats) {
    if (!exists(dir)) return;
    for (const size of hugePageSizes()) {
      s.hugetlb[size] = {
        usage: readUint(dir, `hugetlb.${size}.usage_in_bytes`),
        maxUsage: readUint(dir, `hugetlb.${size}.max_usage_in_bytes`),
        failcnt: readUint(dir, `hugetlb.${size}.failcnt`),
      };
    }
  },
};
