/** v2 hugetlb (opencontainers/cgroups fs2/hugetlb.go): hugetlb.<size>.max per page size. */
import type { Controller } from '../controller';
import { hugePageSizes } from '../detect';
import { formatInt, readUint, readValueByKey } from '../files';
import type { CgroupStats } from '../stats';
import { hugetlb as v1Hugetlb, validateHugepages } from '../v1/hugetlb';

export const hugetlb: Controller = {
  name: 'hugetlb',
  requested: v1Hugetlb.requested,
  validate({ dir }, r) {
    validateHugepages(r, dir, (size) => `hugetlb.${size}.max`);
  },
  set({ dir }, r, log) {
    for (const l of r.hugepageLimits ?? []) log.write(dir, `hugetlb.${l.pageSize}.max`, formatInt(l.limit));
  },
  stats(dir: string, s: CgroupStats) {
    for (const size of hugePageSizes()) {
      s.hugetlb[size] = {
        usage: readUint(dir, `hugetlb.${size}.current`),
        maxUsage: 0n,
        failcnt: readValueByKey(dir, `hugetlb.${size}.events`, 'max'),
      };
    }
  },
};
