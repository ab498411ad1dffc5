/** v2 cpuset (opencontainers/cgroups fs2/cpuset.go): cpus and mems, within what the parent has. */
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { readCgroupFileIfExists } from '../files';
import { parseCpuList } from '../validate';

function checkSubset(wanted: string, dir: string, file: string, field: string): void {
  const want = parseCpuList(wanted, field);
  const parent = path.dirname(dir);
  const avail = readCgroupFileIfExists(parent, `${file}.effective`);
  if (avail === undefined) return;
  const have = new Set(parseCpuList(avail, `${parent}/${file}.effective`));
  const missing = want.filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new FailedPreconditionError(`cannot set ${field} to ${JSON.stringify(wanted)}: ${missing.join(',')} not available (the parent cgroup has ${JSON.stringify(avail.trim())})`);
  }
}

export const cpuset: Controller = {
  name: 'cpuset',
  requested: (r) => (r.cpu?.cpus || r.cpu?.mems ? 'cpu.cpus/cpu.mems (cpuset)' : undefined),
  validate({ dir }, r) {
    if (r.cpu?.cpus) checkSubset(r.cpu.cpus, dir, 'cpuset.cpus', 'linux.resources.cpu.cpus');
    if (r.cpu?.mems) checkSubset(r.cpu.mems, dir, 'cpuset.mems', 'linux.resources.cpu.mems');
  },
  set({ dir }, r, log) {
    if (r.cpu?.cpus) log.write(dir, 'cpuset.cpus', r.cpu.cpus);
    if (r.cpu?.mems) log.write(dir, 'cpuset.mems', r.cpu.mems);
  },
};
