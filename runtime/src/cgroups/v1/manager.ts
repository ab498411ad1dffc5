/**
 * The cgroup v1 (and hybrid) manager: one directory per mounted subsystem,
 * driven through the ordered subsystem list below, as opencontainers/cgroups
 * fs/fs.go. On a hybrid host the cgroup2 tree ("") is joined too, as runc does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller, ControllerContext } from '../controller';
import { CgroupFileError, errnoOf, exists, parseFlatKeyed, readAllProcs, readCgroupFileIfExists, readValueByKey, writeCgroupProc } from '../files';
import type { CgroupConfig, CgroupManager, CgroupMode, CgroupPaths, FreezerState, OomWatcher } from '../manager';
import { watchOom } from '../oom';
import { removePaths } from '../remove';
import { type CgroupStats, newStats } from '../stats';
import { applyValidated } from '../set';
import type { LinuxResources } from '../../spec/types';
import { blkio } from './blkio';
import { cpu } from './cpu';
import { cpuacct } from './cpuacct';
import { cpuset } from './cpuset';
import { devices } from './devices';
import { freezeV1, freezer, freezerStateV1, thawV1 } from './freezer';
import { hugetlb } from './hugetlb';
import { hybridUnified, nameSystemd, perfEvent } from './join-only';
import { memory } from './memory';
import { netCls } from './net-cls';
import { netPrio } from './net-prio';
import { pids } from './pids';
import { rdma } from './rdma';

/** runc's order (fs/fs.go `subsystems`): cpuset first (tasks need cpus), devices early. */
export const SUBSYSTEMS: readonly Controller[] = [
  cpuset,
  devices,
  memory,
  cpu,
  cpuacct,
  pids,
  blkio,
  hugetlb,
  netCls,
  netPrio,
  perfEvent,
  freezer,
  rdma,
  nameSystemd,
  hybridUnified,
];

export class V1Manager implements CgroupManager {
  readonly mode: CgroupMode;
  private readonly cgPaths: CgroupPaths;
  private readonly config: Omit<CgroupConfig, 'id'>;

  constructor(mode: 'v1' | 'hybrid', paths: CgroupPaths, config: Omit<CgroupConfig, 'id'> = {}) {
    this.mode = mode;
    this.cgPaths = { ...paths };
    this.config = config;
  }

  private ctx(dir: string): ControllerContext {
    return { dir, linuxDevices: this.config.linuxDevices, warn: this.config.warn ?? (() => undefined) };
  }

  paths(): CgroupPaths {
    return { ...this.cgPaths };
  }

  create(): void {
    const r = this.config.resources ?? {};
    const made: string[] = [];
    try {
      for (const c of SUBSYSTEMS) {
        const dir = this.cgPaths[c.name];
        if (dir === undefined) continue;
        made.push(...missingChain(dir));
        // cpuset makes its own directories: each needs cpus and mems before the next
        if (c !== cpuset) mkdirp(dir);
        c.create?.(this.ctx(dir), r);
      }
    } catch (err) {
      removeQuietly(made);
      throw err;
    }
  }

  apply(pid: number): void {
    for (const c of SUBSYSTEMS) {
      const dir = this.cgPaths[c.name];
      if (dir === undefined) continue;
      try {
        writeCgroupProc(dir, pid);
      } catch (err) {
        // runc joins the named and hybrid hierarchies best-effort.
        if (c === nameSystemd || c === hybridUnified) continue;
        throw err;
      }
    }
  }

  set(r: LinuxResources): void {
    if (r.unified && Object.keys(r.unified).length > 0) {
      throw new FailedPreconditionError('invalid configuration: cannot use unified on cgroup v1 (linux.resources.unified needs a cgroup v2 host)');
    }
    const steps = SUBSYSTEMS.map((c) => ({ c, dir: this.cgPaths[c.name] }));
    applyValidated(
      steps.map(({ c, dir }) => ({
        controller: c,
        ctx: dir === undefined ? undefined : this.ctx(dir),
        missing: `the ${c.name} cgroup controller is not mounted on this host`,
      })),
      r,
    );
  }

  freeze(): void {
    freezeV1(this.require('freezer', 'pause'));
  }

  thaw(): void {
    thawV1(this.require('freezer', 'resume'));
  }

  freezerState(): FreezerState {
    const dir = this.cgPaths.freezer;
    return dir === undefined ? 'unknown' : freezerStateV1(dir);
  }

  /** runc reads the devices cgroup (always mounted); any would do. */
  private procsDir(): string | undefined {
    return this.cgPaths.devices ?? Object.values(this.cgPaths)[0];
  }

  pids(): number[] {
    const dir = this.procsDir();
    return dir === undefined ? [] : readAllProcs(dir);
  }

  stats(): CgroupStats {
    const s = newStats();
    for (const c of SUBSYSTEMS) {
      const dir = this.cgPaths[c.name];
      if (dir !== undefined && c.stats) c.stats(dir, s);
    }
    return s;
  }

  oomKillCount(): number {
    const dir = this.cgPaths.memory;
    return dir === undefined ? 0 : Number(readValueByKey(dir, 'memory.oom_control', 'oom_kill'));
  }

  watchOOM(opts: { intervalMs?: number } = {}): OomWatcher {
    const dir = this.require('memory', 'watch for OOM');
    // With the OOM killer disabled nothing is killed: then each entry into
    // under_oom counts as an OOM (runc's eventfd fires for those too).
    let under = false;
    let entries = 0;
    return watchOom(
      {
        count: () => {
          const text = readCgroupFileIfExists(dir, 'memory.oom_control');
          if (text === undefined) return undefined;
          const v = parseFlatKeyed(text, `${dir}/memory.oom_control`);
          const nowUnder = v.get('under_oom') === 1n;
          if (nowUnder && !under && v.get('oom_kill_disable') === 1n) entries++;
          under = nowUnder;
          return Number(v.get('oom_kill') ?? 0n) + entries;
        },
      },
      opts.intervalMs ?? 200,
    );
  }

  destroy(): void {
    removePaths(Object.values(this.cgPaths));
  }

  exists(): boolean {
    const dir = this.procsDir();
    return dir !== undefined && exists(dir);
  }

  private require(name: string, what: string): string {
    const dir = this.cgPaths[name];
    if (dir === undefined) throw new FailedPreconditionError(`cannot ${what}: the ${name} cgroup controller is not mounted on this host`);
    return dir;
  }
}

function mkdirp(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw new CgroupFileError('mkdir', dir, err);
  }
}

/** dir and its missing ancestors, top-down: what mkdir -p is about to make. */
function missingChain(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !exists(d); d = path.dirname(d)) out.unshift(d);
  return out;
}

/** Best-effort rmdir of directories create() made before it failed. */
function removeQuietly(dirs: string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      // leave it
    }
  }
}
