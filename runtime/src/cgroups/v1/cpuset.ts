/**
 * v1 cpuset (opencontainers/cgroups fs/cpuset.go). A new v1 cpuset cgroup
 * starts with empty cpuset.cpus and cpuset.mems, and a cgroup with an empty
 * cpuset cannot take tasks: so create() fills them in, from the config or
 * else copied from the parent, for every ancestor the runtime makes too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { CGROUP_SUPER_MAGIC } from '../detect';
import { CgroupFileError, errnoOf, readCgroupFile, readCgroupFileIfExists, readUintIfExists, writeCgroupFile } from '../files';
import type { CgroupStats } from '../stats';
import { parseCpuList } from '../validate';

function isEmpty(s: string): boolean {
  return s.trim() === '';
}

/** Copies cpus/mems from the parent where the cgroup's own are empty. */
function copyIfNeeded(current: string, parent: string): void {
  const cpus = readCgroupFile(current, 'cpuset.cpus');
  const mems = readCgroupFile(current, 'cpuset.mems');
  if (isEmpty(cpus)) writeCgroupFile(current, 'cpuset.cpus', readCgroupFile(parent, 'cpuset.cpus').trim());
  if (isEmpty(mems)) writeCgroupFile(current, 'cpuset.mems', readCgroupFile(parent, 'cpuset.mems').trim());
}

/** Makes every missing ancestor below the mount, each with its parent's cpus and mems (cpusetEnsureParent). */
function ensureParent(current: string): void {
  const parent = path.dirname(current);
  let type: number | undefined;
  try {
    type = Number(fs.statfsSync(parent).type);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw new CgroupFileError('statfs', parent, err);
  }
  if (type !== undefined && type !== CGROUP_SUPER_MAGIC) return; // current is the mount's root
  ensureParent(parent);
  try {
    fs.mkdirSync(current, 0o755);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw new CgroupFileError('mkdir', current, err);
  }
  copyIfNeeded(current, parent);
}

/** The cpus/mems a child may use: the parent's (a child's cpuset must be a subset). */
function checkSubset(wanted: string, dir: string, file: string, field: string): void {
  const want = parseCpuList(wanted, field);
  const parentDir = path.dirname(dir);
  const avail = readCgroupFileIfExists(parentDir, file);
  if (avail === undefined) return;
  const have = new Set(parseCpuList(avail, `${parentDir}/${file}`));
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
  create({ dir }, r) {
    if (r.cpu?.cpus) checkSubset(r.cpu.cpus, dir, 'cpuset.cpus', 'linux.resources.cpu.cpus');
    if (r.cpu?.mems) checkSubset(r.cpu.mems, dir, 'cpuset.mems', 'linux.resources.cpu.mems');
    ensureParent(path.dirname(dir));
    try {
      fs.mkdirSync(dir, 0o755);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw new CgroupFileError('mkdir', dir, err);
    }
    if (r.cpu?.cpus) writeCgroupFile(dir, 'cpuset.cpus', r.cpu.cpus);
    if (r.cpu?.mems) writeCgroupFile(dir, 'cpuset.mems', r.cpu.mems);
    copyIfNeeded(dir, path.dirname(dir));
  },
  set({ dir }, r, log) {
    if (r.cpu?.cpus) log.write(dir, 'cpuset.cpus', r.cpu.cpus);
    if (r.cpu?.mems) log.write(dir, 'cpuset.mems', r.cpu.mems);
  },
  stats(dir: string, s: CgroupStats) {
    const list = (file: string): number[] => {
      const v = readCgroupFileIfExists(dir, file);
      return v === undefined ? [] : parseCpuList(v, `${dir}/${file}`);
    };
    const u = (file: string): bigint => readUintIfExists(dir, file) ?? 0n;
    const c = s.cpuset;
    c.cpus = list('cpuset.cpus');
    c.cpuExclusive = u('cpuset.cpu_exclusive');
    c.mems = list('cpuset.mems');
    c.memHardwall = u('cpuset.mem_hardwall');
    c.memExclusive = u('cpuset.mem_exclusive');
    c.memoryMigrate = u('cpuset.memory_migrate');
    c.memorySpreadPage = u('cpuset.memory_spread_page');
    c.memorySpreadSlab = u('cpuset.memory_spread_slab');
    c.memoryPressure = u('cpuset.memory_pressure');
    c.schedLoadBalance = u('cpuset.sched_load_balance');
    const level = readCgroupFileIfExists(dir, 'cpuset.sched_relax_domain_level');
    c.schedRelaxDomainLevel = level === undefined ? 0n : BigInt(level.trim());
  },
};
