/**
 * Exit bookkeeping: every child the native subreaper reaps is reported here
 * with its raw wait status and time; this module routes each exit to the
 * process that owns the pid, exactly once, and closes the races around
 * starting a process:
 *
 * - A process can exit before the runtime call that started it returns its
 *   pid (an exec that exits at once). Exits of pids nobody owns are kept by
 *   every open Subscription; the starter claims its pid from the
 *   subscription once it knows it (containerd's preStart / runcC.Monitor).
 * - The init's exit can be reaped before `runtime start` returns, i.e. before
 *   TaskStart is published. A held pid's exit waits until release(), so that
 *   TaskStart always precedes TaskExit (containerd's eventSendMu).
 */
import type { ExitRecord } from './native/channel';

export type ExitHandler = (e: ExitRecord) => void;

export class Subscription {
  private readonly exits = new Map<number, ExitRecord>();

  constructor(private readonly monitor: ExitMonitor) {}

  /** @internal */
  offer(e: ExitRecord): void {
    this.exits.set(e.pid, e);
  }

  /**
   * Hands `pid` to its owner: at once (synchronously) if it already exited
   * while this subscription was open, else when it exits.
   */
  claim(pid: number, fn: ExitHandler): void {
    const e = this.exits.get(pid);
    if (e) {
      this.exits.delete(pid);
      fn(e);
    } else {
      this.monitor.register(pid, fn);
    }
  }

  close(): void {
    this.monitor.unsubscribe(this);
    this.exits.clear();
  }
}

export class ExitMonitor {
  private readonly handlers = new Map<number, ExitHandler>();
  private readonly held = new Map<number, ExitRecord | null>();
  private readonly subs = new Set<Subscription>();

  constructor(private readonly onUnknown: (e: ExitRecord) => void = () => undefined) {}

  /** Feeds one reaped child (from the control channel). */
  exit(e: ExitRecord): void {
    if (this.held.has(e.pid)) {
      this.held.set(e.pid, e);
      return;
    }
    const fn = this.handlers.get(e.pid);
    if (fn) {
      this.handlers.delete(e.pid);
      fn(e);
      return;
    }
    for (const s of this.subs) s.offer(e);
    if (this.subs.size === 0) this.onUnknown(e);
  }

  /** Collects exits of unowned pids until closed. */
  subscribe(): Subscription {
    const s = new Subscription(this);
    this.subs.add(s);
    return s;
  }

  /** @internal */
  unsubscribe(s: Subscription): void {
    this.subs.delete(s);
  }

  register(pid: number, fn: ExitHandler): void {
    this.handlers.set(pid, fn);
  }

  unregister(pid: number): void {
    this.handlers.delete(pid);
  }

  /** Defers the delivery of `pid`'s exit until release(pid). */
  hold(pid: number): void {
    if (!this.held.has(pid)) this.held.set(pid, null);
  }

  release(pid: number): void {
    const e = this.held.get(pid);
    this.held.delete(pid);
    if (e) this.exit(e);
  }

  /** A start is collecting exits, or an exit is held: not a moment to hibernate. */
  get busy(): boolean {
    return this.subs.size > 0 || this.held.size > 0;
  }

  get watching(): number {
    return this.handlers.size;
  }
}
