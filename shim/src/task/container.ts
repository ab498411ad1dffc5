/**
 * One container held by the shim: its init, its exec processes (and the exec
 * ids reserved while an Exec is being set up), its runtime and cgroups.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '../../../proto/src/errdefs';
import type { ExecProcess } from '../process/exec';
import type { InitProcess } from '../process/init';
import type { Process } from '../process/process';

export class Container {
  readonly execs = new Map<string, ExecProcess>();
  private readonly reserved = new Set<string>();
  /** controller → cgroup path of the init, for Stats and OOM counting. */
  cgroups = new Map<string, string>();
  oomKills = 0;
  /** Its processes' exits being reported, in the order they were reaped (TaskService.exitOf). */
  reports: Promise<void> = Promise.resolve();

  constructor(readonly id: string, readonly bundle: string, readonly init: InitProcess) {}

  /** The init for "", else the exec process with that id. */
  process(execId: string): Process {
    if (!execId) {
      if (!this.init) throw new FailedPreconditionError('container must be created: failed precondition');
      return this.init;
    }
    const p = this.execs.get(execId);
    if (!p) throw new NotFoundError(`process does not exist ${execId}: not found`);
    return p;
  }

  exec(execId: string): ExecProcess {
    const p = this.process(execId);
    if (p.isInit) throw new NotFoundError(`process does not exist ${execId}: not found`);
    return p as ExecProcess;
  }

  all(): Process[] {
    return [this.init, ...this.execs.values()];
  }

  /** Reserves an exec id; throws AlreadyExists if taken (ReserveProcess). */
  reserve(execId: string): () => void {
    if (this.execs.has(execId) || this.reserved.has(execId)) throw new AlreadyExistsError(`id ${execId}: already exists`);
    this.reserved.add(execId);
    return () => this.reserved.delete(execId);
  }

  add(p: ExecProcess): void {
    this.reserved.delete(p.id);
    this.execs.set(p.id, p);
  }

  /**
   * Whether all of the container's processes die with its init: true unless
   * the bundle asks for a new pid namespace (runc.ShouldKillAllOnExit).
   */
  shouldKillAllOnExit(): boolean {
    try {
      const spec = JSON.parse(fs.readFileSync(path.join(this.bundle, 'config.json'), 'utf8')) as {
        linux?: { namespaces?: { type: string; path?: string }[] };
      };
      return !(spec.linux?.namespaces ?? []).some((ns) => ns.type === 'pid' && !ns.path);
    } catch {
      return true;
    }
  }
}
