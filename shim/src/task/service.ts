/**
 * The shim's task logic (containerd runtime/v2/runc/task/service.go): the
 * containers this shim holds, every containerd.task.v2.Task operation, the
 * routing of reaped exits, and the task events, published in order.
 *
 * Requests and responses are protobufjs objects (camelCase fields); errors
 * are thrown as errdefs kinds and mapped to a status once, by the ttrpc
 * server.
 */
import type * as protobuf from 'protobufjs';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  NotImplementedError,
} from '../../../proto/src/errdefs';
import { memoryCgroup, oomKillCount, pidCgroups, statsOf } from '../cgroups/stats';
import type { Publisher } from '../events/publisher';
import type { ExitMonitor, Subscription } from '../exits';
import type { IOContext } from '../io/create';
import type { Logger } from '../logging';
import { exitStatus, type ControlChannel, type ExitRecord } from '../native/channel';
import { readOptions, resolveOptions, writeOptions, type RuntimeOptions } from '../options';
import { PipeIO, type HandOver, type PipeIOState } from '../io/pipe-io';
import type { Stdio } from '../io/process-io';
import type { Status } from '../process/states';
import type { Timestamp } from '../timestamp';
import { ExecProcess } from '../process/exec';
import { InitProcess } from '../process/init';
import type { Process } from '../process/process';
import { runtimeClient } from '../runtime-client';
import type { LinuxResources, Process as OciProcess } from '../../../runtime/src/spec/types';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Container } from './container';

/** containerd.v1.types.Status */
const STATUS = { unknown: 0, created: 1, running: 2, stopped: 3, paused: 4, pausing: 5 } as const;
const SIGKILL = 9;

/**
 * How long an exit waits for the process's output to be copied out before
 * Wait returns and TaskExit goes out (see exitOf). The bound is for a
 * process that left a survivor holding its stdout, or a FIFO nobody reads;
 * 2 s, as containerd's shim waits for the copies at delete and Docker for
 * its streams at an exit.
 */
export const EXIT_OUTPUT_WAIT_MS = 2000;

export interface ServiceConfig {
  namespace: string;
  native: ControlChannel;
  exits: ExitMonitor;
  publisher: Publisher;
  /** The shim's private directory (FIFOs, console sockets). */
  workDir: string;
  root: protobuf.Root;
  log: Logger;
  /** Called by Shutdown once no container is left. */
  shutdown: () => void;
  /** The pid reported as the shim's (the native reaper, parent of the containers). */
  shimPid: number;
  /** Called when a container leaves the shim (deleted, or its create failed). */
  onLeave?: (id: string) => void;
}

/** google.protobuf.Any as protobufjs holds it (the well-known types keep proto field names). */
interface AnyMsg {
  type_url?: string;
  value?: Uint8Array;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Req = any;

/** A process as a hibernating server records it (hibernate.ts). */
export interface ProcessState {
  id: string;
  pid: number;
  status: Status;
  exitStatus: number;
  exitedAt: Timestamp;
  stdio: Stdio;
  /** The exec's OCI process. */
  spec?: OciProcess;
  /** Its stdio copies, carried on by the fds named under `prefix`. */
  io?: PipeIOState;
  prefix: string;
}

export interface ContainerState {
  id: string;
  bundle: string;
  rootfs: string;
  init: ProcessState;
  execs: ProcessState[];
  cgroups: [string, string][];
  oomKills: number;
}

export class TaskService {
  readonly containers = new Map<string, Container>();
  private readonly creating = new Set<string>();
  /** Runtime calls made outside any request (after an exit). */
  private background = 0;

  constructor(private readonly cfg: ServiceConfig) {}

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError('container not created: not found');
    return c;
  }

  async Create(r: Req): Promise<object> {
    if (!r.id) throw new InvalidArgumentError('container id must not be empty');
    if (!r.bundle || !path.isAbsolute(r.bundle)) throw new InvalidArgumentError(`bundle path ${JSON.stringify(r.bundle ?? '')} must be absolute`);
    if (this.containers.has(r.id) || this.creating.has(r.id)) throw new AlreadyExistsError(`container ${r.id}: already exists`);
    if (r.checkpoint || r.parentCheckpoint) throw new NotImplementedError('checkpoint restore is not supported by the berth shim');
    this.creating.add(r.id);
    try {
      const opts = resolveOptions(r.options as AnyMsg | undefined, this.cfg.root);
      writeOptions(r.bundle, opts);
      const runtime = this.runtimeFor(r.bundle, opts);
      const stdio = { stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: !!r.terminal };
      const log = this.cfg.log.child({ id: r.id });
      const { init, sub } = await InitProcess.create({
        id: r.id,
        bundle: r.bundle,
        rootfs: (r.rootfs ?? []).map((m: { type: string; source: string; options?: string[] }) => ({ type: m.type, source: m.source, options: m.options ?? [] })),
        stdio,
        noPivotRoot: opts.noPivotRoot,
        noNewKeyring: opts.noNewKeyring,
      }, runtime, this.ioContext(opts.ioUid, opts.ioGid), this.cfg.exits, log);
      const c = new Container(r.id, r.bundle, init);
      try {
        c.cgroups = pidCgroups(init.pid);
        c.oomKills = oomKillCount(c.cgroups);
      } catch (err) {
        log.warn('failed to load cgroups of init', { pid: init.pid, err });
      }
      // TaskOOM as the OOM killer strikes, not only when a process of ours
      // exits (a child of the init may be the one killed); the reaper
      // watches, so a hibernated server is woken for it.
      const mem = memoryCgroup(c.cgroups);
      if (mem) await this.cfg.native.oomWatch(r.id, mem.kind, mem.dir).catch((err) => log.warn('cannot watch the memory cgroup for OOMs', { dir: mem.dir, err }));
      this.containers.set(r.id, c);
      this.cfg.publisher.publish('TaskCreate', {
        containerId: r.id, bundle: r.bundle, rootfs: r.rootfs ?? [],
        io: { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr, terminal: stdio.terminal },
        checkpoint: r.checkpoint ?? '', pid: init.pid,
      });
      this.claim(sub, c, init);
      log.info('task created', { pid: init.pid, runtime: opts.binaryName });
      return { pid: init.pid };
    } catch (err) {
      this.cfg.onLeave?.(r.id);
      throw err;
    } finally {
      this.creating.delete(r.id);
    }
  }

  async Start(r: Req): Promise<object> {
    const c = this.container(r.id);
    const p = c.process(r.execId ?? '');
    return p.lock.run(async () => {
      if (p.exited) await p.wait(); // its TaskExit goes out before TaskDelete
      if (p instanceof InitProcess) {
        // Hold the init's exit until TaskStart is queued (eventSendMu).
        this.cfg.exits.hold(p.pid);
        try {
          await p.start();
          this.cfg.publisher.publish('TaskStart', { containerId: c.id, pid: p.pid });
        } finally {
          this.cfg.exits.release(p.pid);
        }
        return { pid: p.pid };
      }
      const e = p as ExecProcess;
      const sub = await e.start(this.ioContext(), this.cfg.exits);
      this.cfg.publisher.publish('TaskExecStarted', { containerId: c.id, execId: e.id, pid: e.pid });
      this.claim(sub, c, e);
      return { pid: e.pid };
    });
  }

  async Delete(r: Req): Promise<object> {
    const c = this.container(r.id);
    const p = c.process(r.execId ?? '');
    return p.lock.run(async () => {
      if (p instanceof InitProcess) {
        await this.cfg.native.oomUnwatch(c.id).catch(() => undefined); // none if the cgroup had no memory controller
        await p.delete(this.cfg.log.child({ id: c.id }));
        this.cfg.exits.unregister(p.pid);
        this.containers.delete(c.id);
        this.cfg.onLeave?.(c.id);
        this.cfg.publisher.publish('TaskDelete', {
          containerId: c.id, pid: p.pid, exitStatus: p.exitStatus, exitedAt: p.exitedAt,
        });
      } else {
        await (p as ExecProcess).delete();
        this.cfg.exits.unregister(p.pid);
        c.execs.delete(p.id);
      }
      return { pid: p.pid, exitStatus: p.exitStatus, exitedAt: p.exitedAt };
    });
  }

  async Exec(r: Req): Promise<object> {
    const c = this.container(r.id);
    if (!r.execId) throw new InvalidArgumentError('exec id must not be empty');
    const release = c.reserve(r.execId);
    try {
      c.init.check('exec');
      const spec = parseJsonAny<OciProcess>(r.spec, 'process spec');
      const e = new ExecProcess(r.execId, {
        stdin: r.stdin ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', terminal: !!r.terminal,
      }, spec, c.init);
      c.add(e);
    } catch (err) {
      release();
      throw err;
    }
    this.cfg.publisher.publish('TaskExecAdded', { containerId: c.id, execId: r.execId });
    return {};
  }

  async ResizePty(r: Req): Promise<object> {
    const p = this.container(r.id).process(r.execId ?? '');
    // ctr resizes right after Start; a process that is already gone has
    // nothing left to resize, which is not the caller's error.
    if (p.status === 'stopped') return {};
    p.check('resize');
    try {
      await p.io?.resize(r.width ?? 0, r.height ?? 0);
    } catch (err) {
      if (!p.exited) throw err;
    }
    return {};
  }

  async State(r: Req): Promise<object> {
    const c = this.container(r.id);
    const p = c.process(r.execId ?? '');
    let status: number = STATUS[p.status === 'deleted' ? 'unknown' : p.status];
    if (c.init.pausing) status = STATUS.pausing;
    else if (!p.isInit && (c.init.status === 'paused')) status = STATUS.paused;
    return {
      id: p.id, bundle: c.bundle, pid: p.pid, status,
      stdin: p.stdio.stdin, stdout: p.stdio.stdout, stderr: p.stdio.stderr, terminal: p.stdio.terminal,
      exitStatus: p.exitStatus, exitedAt: p.exitedAt, execId: p.isInit ? '' : p.id,
    };
  }

  async Pause(r: Req): Promise<object> {
    const c = this.container(r.id);
    await c.init.lock.run(() => c.init.pause());
    this.cfg.publisher.publish('TaskPaused', { containerId: c.id });
    return {};
  }

  async Resume(r: Req): Promise<object> {
    const c = this.container(r.id);
    await c.init.lock.run(() => c.init.resume());
    this.cfg.publisher.publish('TaskResumed', { containerId: c.id });
    return {};
  }

  async Kill(r: Req): Promise<object> {
    const c = this.container(r.id);
    const p = c.process(r.execId ?? '');
    if (p instanceof InitProcess) await p.kill(r.signal ?? 0, !!r.all);
    else await (p as ExecProcess).kill(r.signal ?? 0);
    return {};
  }

  async Pids(r: Req): Promise<object> {
    const c = this.container(r.id);
    let pids: number[];
    try {
      pids = await c.init.runtime.ps(c.id);
    } catch (err) {
      throw new Error(`failed to list pids: ${(err as Error).message}`, { cause: err });
    }
    const details = this.cfg.root.lookupType('containerd.runc.v1.ProcessDetails');
    return {
      processes: pids.map((pid) => {
        const e = [...c.execs.values()].find((x) => x.pid === pid);
        return e
          ? { pid, info: { type_url: 'containerd.runc.v1.ProcessDetails', value: details.encode(details.fromObject({ execId: e.id })).finish() } }
          : { pid };
      }),
    };
  }

  async CloseIO(r: Req): Promise<object> {
    const p = this.container(r.id).process(r.execId ?? '');
    if (r.stdin) p.io?.closeStdin();
    return {};
  }

  async Checkpoint(): Promise<object> {
    throw new NotImplementedError('checkpoint is not supported by the berth shim');
  }

  async Update(r: Req): Promise<object> {
    const c = this.container(r.id);
    const resources = parseJsonAny<LinuxResources>(r.resources, 'resources');
    await c.init.lock.run(() => c.init.update(resources));
    return {};
  }

  async Wait(r: Req): Promise<object> {
    const p = this.container(r.id).process(r.execId ?? '');
    await p.wait();
    return { exitStatus: p.exitStatus, exitedAt: p.exitedAt };
  }

  async Stats(r: Req): Promise<object> {
    const c = this.container(r.id);
    if (c.init.pid === 0 || c.cgroups.size === 0) throw new NotFoundError('cgroup does not exist: not found');
    let stats;
    try {
      stats = statsOf(c.cgroups);
    } catch (err) {
      throw new NotFoundError(`cgroup does not exist: ${(err as Error).message}`, { cause: err });
    }
    const t = this.cfg.root.lookupType(stats.typeUrl);
    return { stats: { type_url: stats.typeUrl, value: t.encode(t.fromObject(stats.metrics)).finish() } };
  }

  async Connect(r: Req): Promise<object> {
    const c = this.containers.get(r.id);
    return { shimPid: this.cfg.shimPid, taskPid: c?.init.pid ?? 0, version: '' };
  }

  async Shutdown(): Promise<object> {
    // Still serving containers (a grouped shim): stay.
    if (this.containers.size > 0 || this.creating.size > 0) return {};
    setImmediate(this.cfg.shutdown);
    return {};
  }

  private runtimeFor(bundle: string, opts: RuntimeOptions) {
    return runtimeClient({
      binary: opts.binaryName,
      root: path.join(opts.root, this.cfg.namespace),
      log: path.join(bundle, 'log.json'),
      systemdCgroup: opts.systemdCgroup,
      tmpDir: this.cfg.workDir,
    });
  }

  /**
   * Hibernation (hibernate.ts): the state of every container and process,
   * the fds that carry on their stdio copies (now stopped), `quiet` to check
   * again that nothing moved, and `wake` to copy on if the server stays.
   * Undefined while anything is under way, or while a process's stdio
   * cannot be handed over (a terminal, a logging binary).
   */
  hibernate(): { containers: ContainerState[]; fds: HandOver[]; quiet: () => boolean; wake: () => void } | undefined {
    if (this.creating.size > 0 || this.background > 0) return undefined;
    const records = (): ContainerState[] => [...this.containers.values()].map((c, ci) => this.recordOf(c, ci));
    const containers = records();
    const snapshot = JSON.stringify(containers);
    const ios: PipeIO[] = [];
    const wake = (): void => ios.forEach((io) => io.wake());
    const fds: HandOver[] = [];
    for (const [ci, c] of [...this.containers.values()].entries()) {
      if (c.init.pausing) return void wake();
      const procs = [containers[ci].init, ...containers[ci].execs];
      for (const [pi, p] of c.all().entries()) {
        if (!p.io) continue;
        if (!(p.io instanceof PipeIO)) return void wake();
        const h = p.io.hibernate(procs[pi].prefix);
        if (!h) return void wake();
        ios.push(p.io);
        fds.push(...h.fds);
        procs[pi].io = h.state;
      }
    }
    const quiet = (): boolean =>
      this.creating.size === 0 && this.background === 0 && ios.every((io) => io.quiet()) && JSON.stringify(records()) === snapshot;
    return { containers, fds, quiet, wake };
  }

  /** A container as a hibernating server records it, stdio aside (hibernate() adds that). */
  private recordOf(c: Container, ci: number): ContainerState {
    const procs = c.all().map((p, pi): ProcessState => ({
      id: p.id, pid: p.pid, status: p.status, exitStatus: p.exitStatus, exitedAt: p.exitedAt, stdio: p.stdio,
      spec: p instanceof ExecProcess ? p.spec : undefined, prefix: `c${ci}.p${pi}`,
    }));
    return { id: c.id, bundle: c.bundle, rootfs: c.init.rootfs, init: procs[0], execs: procs.slice(1), cgroups: [...c.cgroups], oomKills: c.oomKills };
  }

  /**
   * Takes over the containers a hibernated server recorded; `fd(name)` is
   * the number of a handed-over fd. Live processes' exits are routed again.
   */
  restore(states: ContainerState[], fd: (name: string) => number | undefined): void {
    for (const s of states) {
      const opts = readOptions(s.bundle) ?? resolveOptions(undefined, this.cfg.root);
      const init = InitProcess.resumed(s.bundle, s.rootfs, this.runtimeFor(s.bundle, opts), s.init.stdio, s.id);
      const resume = (p: InitProcess | ExecProcess, st: ProcessState): void => {
        p.restore(st);
        if (st.io) p.io = PipeIO.resume(st.io, st.prefix, fd);
      };
      resume(init, s.init);
      const c = new Container(s.id, s.bundle, init);
      c.cgroups = new Map(s.cgroups);
      c.oomKills = s.oomKills;
      for (const e of s.execs) {
        const p = new ExecProcess(e.id, e.stdio, e.spec ?? ({} as OciProcess), init);
        resume(p, e);
        c.add(p);
      }
      this.containers.set(s.id, c);
      for (const p of c.all()) {
        if (p.pid > 0 && !p.exited && p.status !== 'deleted') this.cfg.exits.register(p.pid, (e) => this.exitOf(c, p, e));
      }
    }
  }

  private ioContext(ioUid = 0, ioGid = 0): IOContext {
    return { native: this.cfg.native, dir: this.cfg.workDir, namespace: this.cfg.namespace, ioUid, ioGid };
  }

  /**
   * The reaper's watch on a container's memory cgroup fired. v2 reports a
   * rise of the OOM-kill count; v1 every OOM notification, which comes
   * *before* the kill is counted, so that is published as it is (as
   * containerd's v1 watcher does) and counted as the kill it leads to — an
   * exit does not publish that kill again. v1 also notifies when the cgroup
   * is removed: nothing to publish then.
   */
  oom(id: string): void {
    const c = this.containers.get(id);
    if (!c) return;
    const mem = memoryCgroup(c.cgroups);
    if (mem?.kind !== 'v1') return this.checkOom(c);
    if (!fs.existsSync(mem.dir)) return;
    c.oomKills++;
    this.cfg.publisher.publish('TaskOOM', { containerId: c.id });
  }

  /**
   * TaskOOM once per rise of the cgroup's OOM-kill count beyond the kills
   * already published (a v2 watch that fires for a removed cgroup, or an
   * OOM already reported, adds nothing).
   */
  private checkOom(c: Container): void {
    try {
      const oom = oomKillCount(c.cgroups);
      if (oom > c.oomKills) {
        c.oomKills = oom;
        this.cfg.publisher.publish('TaskOOM', { containerId: c.id });
      }
    } catch {
      // the cgroup may be gone already
    }
  }

  /** Routes the exit of `p` (now or later) to exitOf. */
  private claim(sub: Subscription, c: Container, p: Process): void {
    sub.claim(p.pid, (e) => this.exitOf(c, p, e));
    sub.close();
  }

  /**
   * A reaped process of ours: record it at once (State says stopped), then,
   * once its output has been copied out (at most EXIT_OUTPUT_WAIT_MS),
   * publish TaskOOM (if the OOM killer struck) and TaskExit and let Wait
   * return. A client that acts on the exit then has all the output: ctr 1.6
   * (`ctr run`) closes its FIFOs *before* reading them to the end when it
   * deletes the task, and lost the tail of a large output now and then
   * under load — with containerd's own shim as well. A container's exits
   * are reported in the order they were reaped; other containers of the
   * shim do not wait for them.
   */
  private exitOf(c: Container, p: Process, e: ExitRecord): void {
    const status = exitStatus(e.status);
    const log = this.cfg.log.child({ id: c.id, exec: p.isInit ? undefined : p.id });
    if (p instanceof InitProcess && c.shouldKillAllOnExit()) {
      this.background++;
      p.runtime.kill(c.id, SIGKILL, { all: true })
        .catch((err) => log.debug('failed to kill init\'s children', { err }))
        .finally(() => this.background--);
    }
    const recorded = p instanceof InitProcess ? p.exitedWith(status, e.exitedAt, log) : p.setExited(status, e.exitedAt);
    if (!recorded) return;
    log.debug('process exited', { component: 'shim.exits', pid: e.pid, status });
    const copied = p.io ? p.io.wait(EXIT_OUTPUT_WAIT_MS) : Promise.resolve();
    this.background++;
    c.reports = c.reports.then(() => copied).then(() => {
      try {
        this.checkOom(c);
        this.cfg.publisher.publish('TaskExit', {
          containerId: c.id, id: p.id, pid: e.pid, exitStatus: status, exitedAt: e.exitedAt,
        }, e.exitedAt);
      } finally {
        p.reported();
        this.background--;
      }
    });
  }
}

function parseJsonAny<T>(any: AnyMsg | null | undefined, what: string): T {
  if (!any || !any.value) throw new InvalidArgumentError(`${what} must be given`);
  try {
    return JSON.parse(Buffer.from(any.value).toString('utf8')) as T;
  } catch (err) {
    throw new InvalidArgumentError(`failed to decode ${what}: ${(err as Error).message}`, { cause: err });
  }
}
