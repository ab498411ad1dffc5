/**
 * Wait callers and the exits that reach berthd as events: a TaskExit a shim
 * forwards (or the one berthd publishes for a shim that died) settles every
 * waiter of that process, keyed by namespace, container and process id (the
 * container id for the init, the exec id for an exec). A waiter that knows
 * the pid it waits for ignores the exit of an older process with the same id.
 */
import type { Exit } from './binary';

interface Waiter {
  pid: number;
  resolve: (e: Exit) => void;
}

const key = (ns: string, container: string, id: string) => `${ns}\0${container}\0${id}`;

export class ExitWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();

  /** Registers a waiter; `pid` 0 accepts any pid. cancel() must be called when done. */
  add(ns: string, container: string, id: string, pid: number): { exited: Promise<Exit>; cancel: () => void } {
    const k = key(ns, container, id);
    let set = this.waiting.get(k);
    if (!set) this.waiting.set(k, (set = new Set()));
    let w!: Waiter;
    const exited = new Promise<Exit>((resolve) => (w = { pid, resolve }));
    set.add(w);
    const s = set;
    return {
      exited,
      cancel: () => {
        s.delete(w);
        if (s.size === 0 && this.waiting.get(k) === s) this.waiting.delete(k);
      },
    };
  }

  /** An exit of process `id` of `container`. */
  exit(ns: string, container: string, id: string, e: Exit): void {
    for (const w of this.waiting.get(key(ns, container, id)) ?? []) {
      if (w.pid === 0 || e.pid === 0 || w.pid === e.pid) w.resolve(e);
    }
  }

  /** Every process of `container` is gone (its shim died): settles all its waiters. */
  exitAll(ns: string, container: string, e: Exit): void {
    const prefix = key(ns, container, '');
    for (const [k, set] of this.waiting) if (k.startsWith(prefix)) for (const w of set) w.resolve(e);
  }

  get size(): number {
    return this.waiting.size;
  }
}
