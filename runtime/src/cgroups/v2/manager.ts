/**
 * The cgroup v2 manager: one directory, controllers from its
 * cgroup.controllers, as opencontainers/cgroups fs2/fs2.go. The order of
 * set() is runc's (pids, memory, io, cpu, cpuset, hugetlb, rdma), then the
 * `unified` files (which win over the named resources), then the device
 * filter, last because it cannot be undone.
 */
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller, ControllerContext } from '../controller';
import { CGROUP_ROOT, hugePageSizes, v2Controllers } from '../detect';
import { exists, readAllProcs, readCgroupFileIfExists, readValueByKey, writeCgroupProc } from '../files';
import type { CgroupConfig, CgroupManager, CgroupPaths, FreezerState, OomWatcher } from '../manager';
import { watchOom } from '../oom';
import { removePaths } from '../remove';
import { applyValidated } from '../set';
import { type CgroupStats, newStats } from '../stats';
import type { LinuxResources } from '../../spec/types';
import { cpu } from './cpu';
import { cpuset } from './cpuset';
import { createCgroupPath } from './create';
import { devices } from './devices';
import { freezerStateV2, setFreezeV2 } from './freezer';
import { hugetlb } from './hugetlb';
import { io } from './io';
import { memory } from './memory';
import { pids } from './pids';
import { rdma } from './rdma';
import { unified } from './unified';

export const CONTROLLERS: readonly Controller[] = [pids, memory, io, cpu, cpuset, hugetlb, rdma, unified, devices];

/** Always there on v2 (implemented by the core, not listed in cgroup.controllers). */
const PSEUDO = new Set(['devices', 'unified']);

export class V2Manager implements CgroupManager {
  readonly mode = 'v2' as const;
  private readonly dir: string;
  private readonly mount: string;
  private readonly config: Omit<CgroupConfig, 'id'>;

  /** mount is the cgroup2 mountpoint (/sys/fs/cgroup; a hybrid host's unified/ works for the device filter). */
  constructor(dir: string, config: Omit<CgroupConfig, 'id'> = {}, mount = CGROUP_ROOT) {
    this.dir = dir;
    this.config = config;
    this.mount = mount;
  }

  paths(): CgroupPaths {
    return { '': this.dir };
  }

  create(): void {
    createCgroupPath(this.mount, this.dir, this.config.resources ?? {});
  }

  apply(pid: number): void {
    writeCgroupProc(this.dir, pid);
  }

  set(r: LinuxResources): void {
    if (!exists(this.dir)) throw new FailedPreconditionError(`cannot set resources: cgroup \`${this.dir}\` does not exist (create it first)`);
    const available = v2Controllers(this.dir);
    const ctx: ControllerContext = { dir: this.dir, linuxDevices: this.config.linuxDevices, warn: this.config.warn ?? (() => undefined) };
    if (r.network && (r.network.classID || r.network.priorities?.length)) {
      throw new FailedPreconditionError('cannot set linux.resources.network: net_cls and net_prio do not exist on cgroup v2');
    }
    applyValidated(
      CONTROLLERS.map((c) => ({
        controller: c,
        ctx: PSEUDO.has(c.name) || available.has(c.name) ? ctx : undefined,
        missing: `the ${c.name} controller is not enabled for \`${this.dir}\` (cgroup.controllers: ${[...available].join(' ') || 'none'})`,
      })),
      r,
    );
  }

  freeze(): void {
    setFreezeV2(this.dir, true);
  }

  thaw(): void {
    setFreezeV2(this.dir, false);
  }

  freezerState(): FreezerState {
    return freezerStateV2(this.dir);
  }

  pids(): number[] {
    return readAllProcs(this.dir);
  }

  /** runc's fs2 GetStats: pids always, the rest when their files exist. */
  stats(): CgroupStats {
    const s = newStats();
    pids.stats!(this.dir, s);
    const has = (file: string): boolean => exists(path.join(this.dir, file));
    if (has('memory.stat')) memory.stats!(this.dir, s);
    io.stats!(this.dir, s);
    if (has('cpu.stat')) cpu.stats!(this.dir, s);
    const sizes = hugePageSizes();
    if (sizes.length > 0 && has(`hugetlb.${sizes[0]}.current`)) hugetlb.stats!(this.dir, s);
    rdma.stats!(this.dir, s);
    return s;
  }

  oomKillCount(): number {
    return exists(path.join(this.dir, 'memory.events')) ? Number(readValueByKey(this.dir, 'memory.events', 'oom_kill')) : 0;
  }

  watchOOM(opts: { intervalMs?: number } = {}): OomWatcher {
    if (!exists(path.join(this.dir, 'memory.events'))) {
      throw new FailedPreconditionError(`cannot watch for OOM: the memory controller is not enabled for \`${this.dir}\``);
    }
    return watchOom(
      {
        count: () => (exists(this.dir) ? Number(readValueByKey(this.dir, 'memory.events', 'oom_kill')) : undefined),
        populated: () => {
          const ev = readCgroupFileIfExists(this.dir, 'cgroup.events');
          return ev === undefined ? undefined : /^populated 1$/m.test(ev);
        },
        watchFile: path.join(this.dir, 'memory.events'),
      },
      opts.intervalMs ?? 200,
    );
  }

  destroy(): void {
    removePaths([this.dir]);
  }

  exists(): boolean {
    return exists(this.dir);
  }
}
