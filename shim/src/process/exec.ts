/**
 * An exec process (containerd pkg/process/exec.go): recorded by Exec, run by
 * Start through `runtime exec --detach`, signalled directly by pid.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, NotFoundError } from '../../../proto/src/errdefs';
import type { ExitMonitor, Subscription } from '../exits';
import { createIO, type IOContext } from '../io/create';
import type { Stdio } from '../io/process-io';
import type { Process as OciProcess } from '../../../runtime/src/spec/types';
import { Process } from './process';
import { EXEC_RULES } from './states';
import { runtimeError } from './errors';
import { readPidFile, type InitProcess } from './init';

export class ExecProcess extends Process {
  constructor(id: string, stdio: Stdio, readonly spec: OciProcess, readonly parent: InitProcess) {
    super(id, stdio, EXEC_RULES);
  }

  get isInit(): boolean {
    return false;
  }

  private get pidFile(): string {
    return path.join(this.parent.bundle, `${this.id}.pid`);
  }

  /**
   * Starts the process; resolves with its pid and the subscription that saw
   * any exit meanwhile (the caller publishes TaskExecStarted, then claims).
   */
  async start(ioCtx: IOContext, exits: ExitMonitor): Promise<Subscription> {
    this.check('start');
    this.io = await createIO(ioCtx, this.id, this.stdio);
    const sub = exits.subscribe();
    try {
      try {
        await this.parent.runtime.exec(this.parent.id, { ...this.spec, terminal: this.stdio.terminal }, {
          pidFile: this.pidFile,
          consoleSocket: this.io?.consoleSocket,
          io: this.io?.runtimeIO(),
        });
      } catch (err) {
        throw runtimeError(err, 'OCI runtime exec failed');
      }
      await this.io?.start();
      this.pid = readPidFile(this.pidFile);
    } catch (err) {
      sub.close();
      this.io?.close();
      this.io = undefined;
      this.abandon();
      throw err;
    }
    this.setStatus('running');
    return sub;
  }

  async kill(signal: number): Promise<void> {
    this.check('kill');
    if (this.pid === 0) throw new FailedPreconditionError('process not created: failed precondition');
    if (this.exited) throw new NotFoundError('process already finished: not found');
    try {
      process.kill(this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw new NotFoundError('process already finished: not found', { cause: err });
      throw new Error(`exec kill error: ${(err as Error).message}`, { cause: err });
    }
  }

  async delete(): Promise<void> {
    this.check('delete');
    await this.io?.wait(2000);
    this.io?.close();
    fs.rmSync(this.pidFile, { force: true });
    this.setStatus('deleted');
  }
}
