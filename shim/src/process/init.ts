/**
 * The container's init process (containerd pkg/process/init.go): created by
 * the runtime from the bundle after the shim mounted the rootfs, started,
 * paused, resumed, updated, killed and deleted through the runtime.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../../proto/src/errdefs';
import type { Subscription, ExitMonitor } from '../exits';
import { createIO, type IOContext } from '../io/create';
import type { Stdio } from '../io/process-io';
import type { Logger } from '../logging';
import { unmountAll, mount } from '../mount/mount';
import type { Mount } from '../mount/options';
import { RuntimeError, type RuntimeClient } from '../runtime-client';
import type { LinuxResources } from '../../../runtime/src/spec/types';
import { Process } from './process';
import { INIT_RULES } from './states';
import { runtimeError } from './errors';
import { trace } from '../../../runtime/src/logging';

export const INIT_PID_FILE = 'init.pid';

export interface InitConfig {
  id: string;
  bundle: string;
  rootfs: Mount[];
  stdio: Stdio;
  noPivotRoot: boolean;
  noNewKeyring: boolean;
}

export class InitProcess extends Process {
  /** Set while `runtime pause` runs: State says "pausing". */
  pausing = false;

  private constructor(
    readonly bundle: string,
    /** <bundle>/rootfs when the shim mounted it, else "". */
    readonly rootfs: string,
    readonly runtime: RuntimeClient,
    stdio: Stdio,
    id: string,
  ) {
    super(id, stdio, INIT_RULES);
  }

  get isInit(): boolean {
    return true;
  }

  /** The init of a container a previous server created (after hibernation); restore() sets its state. */
  static resumed(bundle: string, rootfs: string, runtime: RuntimeClient, stdio: Stdio, id: string): InitProcess {
    return new InitProcess(bundle, rootfs, runtime, stdio, id);
  }

  /**
   * Mounts the rootfs, sets up stdio and runs `runtime create`. Returns the
   * process and the subscription holding any exit seen meanwhile; the caller
   * publishes TaskCreate, then claims the pid. On failure nothing is left
   * mounted and no runtime container remains.
   */
  static async create(cfg: InitConfig, runtime: RuntimeClient, ioCtx: IOContext, exits: ExitMonitor, log: Logger): Promise<{ init: InitProcess; sub: Subscription }> {
    if (!path.isAbsolute(cfg.bundle)) throw new InvalidArgumentError(`bundle path ${JSON.stringify(cfg.bundle)} must be absolute`);
    trace('timing', 'shim create: begin');
    let rootfs = '';
    if (cfg.rootfs.length > 0) {
      rootfs = path.join(cfg.bundle, 'rootfs');
      fs.mkdirSync(rootfs, { recursive: true, mode: 0o711 });
      try {
        for (const m of cfg.rootfs) await mount(m, rootfs);
      } catch (err) {
        await unmountAll(rootfs).catch((e) => log.warn('failed to cleanup rootfs mount', { err: e }));
        throw new Error(`failed to mount rootfs component: ${(err as Error).message}`, { cause: err });
      }
    }
    trace('timing', 'shim create: rootfs mounted');
    const init = new InitProcess(cfg.bundle, rootfs, runtime, cfg.stdio, cfg.id);
    let sub: Subscription | undefined;
    try {
      init.io = await createIO(ioCtx, cfg.id, cfg.stdio);
      sub = exits.subscribe();
      trace('timing', 'shim create: io ready');
      try {
        await runtime.create(cfg.id, {
          bundle: cfg.bundle,
          pidFile: path.join(cfg.bundle, INIT_PID_FILE),
          consoleSocket: init.io?.consoleSocket,
          noPivot: cfg.noPivotRoot,
          noNewKeyring: cfg.noNewKeyring,
          io: init.io?.runtimeIO(),
        });
      } catch (err) {
        throw runtimeError(err, 'OCI runtime create failed');
      }
      try {
        await init.io?.start();
        init.pid = readPidFile(path.join(cfg.bundle, INIT_PID_FILE));
      } catch (err) {
        await runtime.delete(cfg.id, { force: true }).catch(() => undefined);
        throw err;
      }
      return { init, sub };
    } catch (err) {
      sub?.close();
      init.io?.close();
      if (rootfs) await unmountAll(rootfs).catch((e) => log.warn('failed to cleanup rootfs mount', { err: e }));
      throw err;
    }
  }

  /** `runtime start`. The caller holds the pid's exit until TaskStart is out. */
  async start(): Promise<void> {
    this.check('start');
    try {
      await this.runtime.start(this.id);
    } catch (err) {
      throw runtimeError(err, 'OCI runtime start failed');
    }
    this.setStatus('running');
  }

  async pause(): Promise<void> {
    this.check('pause');
    this.pausing = true;
    try {
      await this.runtime.pause(this.id);
    } catch (err) {
      throw runtimeError(err, 'OCI runtime pause failed');
    } finally {
      this.pausing = false;
    }
    this.setStatus('paused');
  }

  async resume(): Promise<void> {
    this.check('resume');
    try {
      await this.runtime.resume(this.id);
    } catch (err) {
      throw runtimeError(err, 'OCI runtime resume failed');
    }
    this.setStatus('running');
  }

  async update(resources: LinuxResources): Promise<void> {
    this.check('update');
    try {
      await this.runtime.update(this.id, resources);
    } catch (err) {
      throw runtimeError(err, 'OCI runtime update failed');
    }
  }

  async kill(signal: number, all: boolean): Promise<void> {
    this.check('kill');
    try {
      await this.runtime.kill(this.id, signal, { all });
    } catch (err) {
      throw killError(err);
    }
  }

  /** Record the exit; a paused container is thawed so that it can be deleted (pausedState.SetExited). */
  exitedWith(status: number, at: { seconds: number; nanos: number }, log: Logger): boolean {
    const wasPaused = this.status === 'paused';
    if (!this.setExited(status, at)) return false;
    if (wasPaused) {
      this.runtime.resume(this.id).catch((err) => log.error('resuming exited container from paused state', { err }));
    }
    return true;
  }

  async delete(log: Logger): Promise<void> {
    this.check('delete');
    await this.io?.wait(2000);
    let failure: Error | undefined;
    try {
      await this.runtime.delete(this.id);
    } catch (err) {
      if (!(err instanceof RuntimeError && /does not exist/.test(err.message + err.output))) {
        failure = runtimeError(err, 'failed to delete task');
      }
    }
    this.io?.close();
    if (this.rootfs) {
      try {
        await unmountAll(this.rootfs);
      } catch (err) {
        log.warn('failed to cleanup rootfs mount', { err });
        failure ??= new Error(`failed rootfs umount: ${(err as Error).message}`, { cause: err });
      }
    }
    if (failure) throw failure;
    this.setStatus('deleted');
  }
}

export function readPidFile(file: string): number {
  const text = fs.readFileSync(file, 'utf8').trim();
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`bad pid file ${file}: ${JSON.stringify(text)}`);
  return pid;
}

/** containerd's checkKillError: runc's wording for a gone process or container means NotFound. */
export function killError(err: unknown): Error {
  const text = err instanceof RuntimeError ? `${err.message} ${err.output}` : String((err as Error)?.message ?? err);
  if (/os: process already finished|container not running|no such process/i.test(text)) {
    return new NotFoundError('process already finished: not found', { cause: err });
  }
  if (/does not exist/.test(text)) return new NotFoundError('no such container: not found', { cause: err });
  return new Error(`unknown error after kill: ${(err as Error)?.message ?? err}`, { cause: err });
}
