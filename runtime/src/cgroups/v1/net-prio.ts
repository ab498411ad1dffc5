/**
 * v1 net_prio (opencontainers/cgroups fs/net_prio.go): one "ifname priority"
 * write per interface into net_prio.ifpriomap.
 */
import type { Controller } from '../controller';
import { readCgroupFile } from '../files';
import { checkInt } from '../validate';
import { InvalidArgumentError } from '../../../../proto/src/errdefs';

export const netPrio: Controller = {
  name: 'net_prio',
  requested: (r) => (r.network?.priorities?.length ? 'network.priorities' : undefined),
  validate(_ctx, r) {
    (r.network?.priorities ?? []).forEach((p, i) => {
      if (!p.name || /[\s/]/.test(p.name) || p.name.length > 15) {
        throw new InvalidArgumentError(`linux.resources.network.priorities[${i}].name: ${JSON.stringify(p.name)} is not an interface name`);
      }
      checkInt(p.priority, `linux.resources.network.priorities[${i}].priority`, 0, 0xffff_ffff);
    });
  },
  set({ dir }, r, log) {
    const current = new Map<string, string>();
    for (const line of readCgroupFile(dir, 'net_prio.ifpriomap').split('\n')) {
      const [name, prio] = line.split(' ');
      if (name) current.set(name, prio);
    }
    for (const p of r.network?.priorities ?? []) {
      log.write(dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${p.name} ${current.get(p.name) ?? 0}`);
    }
  },
};
