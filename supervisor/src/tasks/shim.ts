/**
 * One task's connection to its shim (containerd runtime/v2/shim.go
 * shimTask + process.go): the containerd.task.v2.Task calls over the ttrpc
 * client that the shim package owns, with the task's id filled in.
 *
 * Errors keep the shim's status code and message (errdefs' kindOf reads the
 * code), so that what the runtime said reaches the client unchanged. A call
 * on a closed connection means the shim is gone: State answers NotFound.
 */
import { NotFoundError } from '../../../proto/src/errdefs';
import { TtrpcClient, type CallOptions } from '../../../shim/src/ttrpc/client';
import { GrpcCode } from '../../../shim/src/ttrpc/status';
import type { Mount } from '../mount/types';
import type { Bundle } from './bundle';
import type { Exit, ShimBinaryConfig } from './binary';
import { TASK_SERVICE, taskRoot, type AnyMsg } from './protos';
import type { ShimLog } from './shim-log';

export type { Mount };

export interface TaskIO {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** A process's state as the shim reports it (StateResponse). */
export interface ProcessState {
  id: string;
  pid: number;
  /** containerd.v1.types.Status as a number. */
  status: number;
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
  exitStatus: number;
  exitedAt: { seconds: number; nanos: number } | null;
}

const NAMESPACE_HEADER_TTRPC = 'containerd-namespace-ttrpc';
const SHUTDOWN_TIMEOUT_MS = 3_000;
const STATE_TIMEOUT_MS = 2_000;

/** True for the error of a call on a connection that closed (the shim went away). */
export function isClosed(err: unknown): boolean {
  return (err as { code?: number })?.code === GrpcCode.UNAVAILABLE && /ttrpc: closed/.test((err as Error).message ?? '');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Stub = Record<string, (req: object, opts?: CallOptions) => Promise<any>>;

export class ShimTask {
  /** The init's pid (from Create or Connect). */
  pid = 0;
  /** Pids of started execs, by exec id (so that a late exit event of an old process is told apart). */
  readonly execPids = new Map<string, number>();
  /** Set while the task is being deleted on purpose: its connection closing is not a dead shim. */
  deleting = false;
  /** Settled when the shim died and was cleaned up: the exit it left. */
  readonly dead: Promise<Exit>;
  markDead!: (e: Exit) => void;
  private readonly stub: Stub;
  private readonly md: CallOptions['metadata'];

  constructor(
    readonly bundle: Bundle,
    readonly client: TtrpcClient,
    readonly binary: ShimBinaryConfig,
    readonly log: ShimLog | undefined,
  ) {
    this.stub = client.stub(taskRoot().lookupService(TASK_SERVICE));
    this.md = [{ key: NAMESPACE_HEADER_TTRPC, value: bundle.namespace }];
    this.dead = new Promise((resolve) => (this.markDead = resolve));
  }

  get id(): string {
    return this.bundle.id;
  }

  get namespace(): string {
    return this.bundle.namespace;
  }

  private call<T = Record<string, unknown>>(method: string, req: object, timeoutMs?: number): Promise<T> {
    return this.stub[method]({ id: this.id, ...req }, { metadata: this.md, timeoutMs });
  }

  async create(req: { rootfs: Mount[]; io: TaskIO; checkpoint: string; options: AnyMsg | null }): Promise<number> {
    const res = await this.call<{ pid: number }>('Create', {
      bundle: this.bundle.path,
      rootfs: req.rootfs,
      terminal: req.io.terminal,
      stdin: req.io.stdin,
      stdout: req.io.stdout,
      stderr: req.io.stderr,
      checkpoint: req.checkpoint,
      options: req.options ?? undefined,
    });
    this.pid = res.pid;
    return res.pid;
  }

  async start(execId = ''): Promise<number> {
    const res = await this.call<{ pid: number }>('Start', { execId });
    if (execId) this.execPids.set(execId, res.pid);
    return res.pid;
  }

  /** Delete of the init (the task) or of an exec. */
  async delete(execId = ''): Promise<Exit> {
    const res = await this.call<{ pid: number; exitStatus: number; exitedAt: Exit['exitedAt'] | null }>('Delete', { execId });
    if (execId) this.execPids.delete(execId);
    return { pid: res.pid, status: res.exitStatus, exitedAt: res.exitedAt ?? { seconds: 0, nanos: 0 } };
  }

  async state(execId = ''): Promise<ProcessState> {
    try {
      const r = await this.call<ProcessState & { execId: string }>('State', { execId }, STATE_TIMEOUT_MS);
      return { ...r, id: execId || this.id };
    } catch (err) {
      if (isClosed(err)) throw new NotFoundError(`task ${this.id}: shim disconnected: not found`, { cause: err });
      throw err;
    }
  }

  async pids(): Promise<{ pid: number; info: AnyMsg | null }[]> {
    const r = await this.call<{ processes: { pid: number; info: AnyMsg | null }[] }>('Pids', {});
    return r.processes;
  }

  async pause(): Promise<void> {
    await this.call('Pause', {});
  }

  async resume(): Promise<void> {
    await this.call('Resume', {});
  }

  async kill(signal: number, all: boolean, execId = ''): Promise<void> {
    await this.call('Kill', { execId, signal, all });
  }

  async exec(execId: string, io: TaskIO, spec: AnyMsg | null): Promise<void> {
    await this.call('Exec', { execId, terminal: io.terminal, stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, spec: spec ?? undefined });
  }

  async resizePty(width: number, height: number, execId = ''): Promise<void> {
    await this.call('ResizePty', { execId, width, height });
  }

  async closeIO(execId = ''): Promise<void> {
    await this.call('CloseIO', { execId, stdin: true });
  }

  async update(resources: AnyMsg | null, annotations: Record<string, string>): Promise<void> {
    await this.call('Update', { resources: resources ?? undefined, annotations });
  }

  async wait(execId = ''): Promise<{ status: number; exitedAt: Exit['exitedAt'] }> {
    const r = await this.call<{ exitStatus: number; exitedAt: Exit['exitedAt'] | null }>('Wait', { execId });
    return { status: r.exitStatus, exitedAt: r.exitedAt ?? { seconds: 0, nanos: 0 } };
  }

  async stats(): Promise<AnyMsg | null> {
    const r = await this.call<{ stats: AnyMsg | null }>('Stats', {});
    return r.stats;
  }

  /** Connect: the shim's and the task's pids; checks that the shim answers (load). */
  async connect(timeoutMs: number): Promise<{ shimPid: number; taskPid: number }> {
    const r = await this.call<{ shimPid: number; taskPid: number }>('Connect', {}, timeoutMs);
    this.pid = r.taskPid;
    return r;
  }

  /** Asks the shim to exit once it holds no task; a closed connection means it did. */
  async shutdown(): Promise<void> {
    try {
      await this.call('Shutdown', {}, SHUTDOWN_TIMEOUT_MS);
    } catch (err) {
      if (!isClosed(err)) throw err;
    }
  }

  close(): void {
    this.client.close();
    this.log?.close();
  }
}
