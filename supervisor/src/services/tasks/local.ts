/**
 * Tasks logic (containerd services/tasks/local.go): a task is found through
 * its container record (unknown container → NotFound), created by the shim
 * manager with the container's spec and runtime, and every other call goes
 * to the task's shim. Errors from the shim keep their code and message.
 */
import { InvalidArgumentError, NotImplementedError, isNotFound } from '../../../../proto/src/errdefs';
import type { Logger } from '../../daemon/logging';
import { adapt, parseAll } from '../../filters/filters';
import type { Container } from '../../metadata/containers';
import type { Metadata } from '../../metadata/plugin';
import type { Exit } from '../../tasks/binary';
import type { ShimManager } from '../../tasks/manager';
import type { AnyMsg } from '../../tasks/protos';
import type { Mount, ProcessState, ShimTask, TaskIO } from '../../tasks/shim';
import { now, validateIdentifier, type Timestamp } from '../grpc-util';

export interface CreateTaskRequest {
  containerId: string;
  rootfs: Mount[];
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  checkpoint: { digest: string } | null;
  options: AnyMsg | null;
  runtimePath: string;
}

export interface Metric {
  timestamp: Timestamp;
  id: string;
  data: AnyMsg | null;
}

export class TasksLocal {
  constructor(
    private readonly m: Metadata,
    private readonly shims: ShimManager,
    private readonly log: Logger,
  ) {}

  private container(ns: string, id: string): Container {
    return this.m.containers.get(ns, id);
  }

  /** The task of a container (getTask): NotFound for an unknown container or one with no task. */
  private task(ns: string, id: string): ShimTask {
    this.container(ns, id);
    return this.shims.get(ns, id);
  }

  async create(ns: string, r: CreateTaskRequest): Promise<{ containerId: string; pid: number }> {
    const c = this.container(ns, r.containerId);
    if (r.checkpoint && r.checkpoint.digest) throw new NotImplementedError('checkpoint restore is not supported by berthd: not implemented');
    if (!c.spec?.value?.length) throw new InvalidArgumentError(`container ${c.id} has no spec: invalid argument`);
    const io: TaskIO = { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal };
    const t = await this.shims.create(ns, r.containerId, {
      spec: Buffer.from(c.spec.value),
      runtime: r.runtimePath || c.runtime.name,
      runtimeOptions: c.runtime.options,
      taskOptions: r.options,
      rootfs: r.rootfs.map((x) => ({ type: x.type, source: x.source, target: x.target, options: x.options ?? [] })),
      io,
    });
    return { containerId: r.containerId, pid: t.pid };
  }

  async start(ns: string, id: string, execId: string): Promise<number> {
    return this.task(ns, id).start(execId);
  }

  async delete(ns: string, id: string): Promise<Exit> {
    this.container(ns, id);
    return this.shims.delete(ns, id);
  }

  async deleteProcess(ns: string, id: string, execId: string): Promise<Exit> {
    if (!execId) throw new InvalidArgumentError('exec id must be set: invalid argument');
    return this.task(ns, id).delete(execId);
  }

  /** A process's state (getProcessState): a shim that fails other than NotFound gives UNKNOWN. */
  private async processState(t: ShimTask, execId: string): Promise<ProcessState> {
    try {
      return await t.state(execId); // the reply's other fields (bundle) are not in Process: not encoded
    } catch (err) {
      if (isNotFound(err)) throw err;
      this.log.error('failed to get state', { id: t.id, exec_id: execId, err: (err as Error).message });
      return { id: execId || t.id, pid: 0, status: 0, stdin: '', stdout: '', stderr: '', terminal: false, exitStatus: 0, exitedAt: null };
    }
  }

  async get(ns: string, id: string, execId: string): Promise<ProcessState> {
    return this.processState(this.task(ns, id), execId);
  }

  async list(ns: string): Promise<ProcessState[]> {
    const out = await Promise.all(
      this.shims.list(ns).map((t) =>
        this.processState(t, '').catch((err) => {
          if (!isNotFound(err)) this.log.error('failed to convert task', { id: t.id, err: (err as Error).message });
          return undefined; // raced with a deletion
        }),
      ),
    );
    return out.filter((p): p is ProcessState => p !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  async kill(ns: string, id: string, execId: string, signal: number, all: boolean): Promise<void> {
    await this.task(ns, id).kill(signal, all, execId);
  }

  async exec(ns: string, r: { containerId: string; execId: string; stdin: string; stdout: string; stderr: string; terminal: boolean; spec: AnyMsg | null }): Promise<void> {
    if (!r.execId) throw new InvalidArgumentError('exec id cannot be empty');
    const t = this.task(ns, r.containerId);
    try {
      validateIdentifier(r.execId, 'exec id');
    } catch (err) {
      throw new InvalidArgumentError(`invalid exec id ${r.execId}: ${(err as Error).message}`, { cause: err });
    }
    await t.exec(r.execId, { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, terminal: r.terminal }, r.spec);
  }

  async resizePty(ns: string, id: string, execId: string, width: number, height: number): Promise<void> {
    await this.task(ns, id).resizePty(width, height, execId);
  }

  async closeIO(ns: string, id: string, execId: string, stdin: boolean): Promise<void> {
    const t = this.task(ns, id);
    if (stdin) await t.closeIO(execId);
  }

  async pause(ns: string, id: string): Promise<void> {
    await this.task(ns, id).pause();
  }

  async resume(ns: string, id: string): Promise<void> {
    await this.task(ns, id).resume();
  }

  async listPids(ns: string, id: string): Promise<{ pid: number; info: AnyMsg | null }[]> {
    return this.task(ns, id).pids();
  }

  checkpoint(ns: string, id: string): never {
    this.task(ns, id);
    throw new NotImplementedError('checkpoint is not supported by berthd: not implemented');
  }

  async update(ns: string, id: string, resources: AnyMsg | null, annotations: Record<string, string>): Promise<void> {
    await this.task(ns, id).update(resources, annotations);
  }

  /** Stats of the namespace's tasks matching the filters (id, namespace); tasks that fail are left out. */
  async metrics(ns: string, filters: string[]): Promise<Metric[]> {
    const f = parseAll(filters);
    const tasks = this.shims.list(ns).filter((t) => f.match(adapt({ id: t.id, namespace: t.namespace })));
    const out = await Promise.all(
      tasks.map(async (t): Promise<Metric | undefined> => {
        const timestamp = now();
        try {
          return { timestamp, id: t.id, data: await t.stats() };
        } catch (err) {
          if (!isNotFound(err)) this.log.error('failed to collect metrics', { id: t.id, err: (err as Error).message });
          return undefined;
        }
      }),
    );
    return out.filter((x): x is Metric => x !== undefined);
  }

  async wait(ns: string, id: string, execId: string): Promise<{ exitStatus: number; exitedAt: Timestamp }> {
    const t = this.task(ns, id);
    if (execId) await t.state(execId); // an unknown exec is NotFound now, not a wait forever
    const e = await this.shims.wait(t, execId);
    return { exitStatus: e.status, exitedAt: e.exitedAt };
  }
}
