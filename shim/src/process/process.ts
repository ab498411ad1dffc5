/**
 * What the init and exec processes share: status (checked against the
 * tables in states.ts), pid, exit status and time, stdio, and a lock that
 * serialises the operations on one process (containerd's p.mu).
 */
import { InternalError } from '../../../proto/src/errdefs';
import type { ProcessIO, Stdio } from '../io/process-io';
import { Mutex } from '../mutex';
import { ZERO, type Timestamp } from '../timestamp';
import { canTransition, check, type Op, type Status } from './states';

export abstract class Process {
  status: Status = 'created';
  pid = 0;
  exitStatus = 0;
  exitedAt: Timestamp = ZERO;
  io?: ProcessIO;
  readonly lock = new Mutex();
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  protected constructor(
    /** The exec id, or the container id for the init. */
    readonly id: string,
    readonly stdio: Stdio,
    private readonly rules: typeof import('./states').INIT_RULES,
  ) {
    this.done = new Promise((r) => { this.resolveDone = r; });
  }

  abstract get isInit(): boolean;

  check(op: Op): void {
    check(this.rules, op, this.status);
  }

  setStatus(to: Status): void {
    if (to === this.status) return;
    if (!canTransition(this.status, to)) throw new InternalError(`invalid state transition "${this.status}" to "${to}"`);
    this.status = to;
  }

  get exited(): boolean {
    return this.status === 'stopped' || (this.status === 'deleted' && this.exitedAt !== ZERO);
  }

  /** Resolves once the process's exit has been reported (or it will never run). */
  wait(): Promise<void> {
    return this.done;
  }

  /** Records the exit; returns false if it was already recorded. Wait returns at reported(). */
  setExited(status: number, at: Timestamp): boolean {
    if (this.status === 'stopped' || this.status === 'deleted') return false;
    this.exitStatus = status;
    this.exitedAt = at;
    this.status = 'stopped';
    void this.io?.exited();
    return true;
  }

  /** The exit has been published: Wait returns. */
  reported(): void {
    this.resolveDone();
  }

  /** Takes over the recorded state of a process a previous server ran (after hibernation). */
  restore(s: { status: Status; pid: number; exitStatus: number; exitedAt: Timestamp }): void {
    this.status = s.status;
    this.pid = s.pid;
    this.exitStatus = s.exitStatus;
    this.exitedAt = s.exitedAt.seconds === 0 && s.exitedAt.nanos === 0 ? ZERO : s.exitedAt;
    if (this.exited || this.status === 'deleted') this.resolveDone();
  }

  /** Lets Wait return when the process never started (a failed exec start). */
  protected abandon(): void {
    this.resolveDone();
  }
}
