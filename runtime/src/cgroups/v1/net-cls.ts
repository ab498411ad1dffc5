/** v1 net_cls (opencontainers/cgroups fs/net_cls.go): the classid tagged on the container's packets. */
import type { Controller } from '../controller';
import { checkInt } from '../validate';

export const netCls: Controller = {
  name: 'net_cls',
  requested: (r) => (r.network?.classID ? 'network.classID' : undefined),
  validate(_ctx, r) {
    if (r.network?.classID) checkInt(r.network.classID, 'linux.resources.network.classID', 0, 0xffff_ffff);
  },
  set({ dir }, r, log) {
    if (r.network?.classID) log.write(dir, 'net_cls.classid', String(r.network.classID));
  },
};
