/**
 * OOM notification for `events`. runc uses an eventfd registered through
 * cgroup.event_control on v1 and inotify on memory.events on v2. Node has no
 * eventfd, so berth reads the kernel's OOM-kill counter (v1
 * memory.oom_control "oom_kill", v2 memory.events "oom_kill") on a timer and,
 * on v2, also whenever inotify (fs.watch) says memory.events changed.
 *
 * Each increase of the counter is one event. The stream ends when the cgroup
 * is removed, or (v2, as runc) when it had processes and now has none.
 */
import * as fs from 'node:fs';
import type { OomEvent, OomWatcher } from './manager';

export interface OomSource {
  /** The OOM kill counter now; undefined when the cgroup is gone. */
  count(): number | undefined;
  /** Whether the cgroup has processes; undefined to never end on emptiness (v1, as runc). */
  populated?(): boolean | undefined;
  /** A file whose inotify modify events mean "look again" (v2 memory.events). */
  watchFile?: string;
}

export function watchOom(src: OomSource, intervalMs: number): OomWatcher {
  const queue: OomEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let last = src.count() ?? 0;
  let wasPopulated = src.populated?.() === true;

  const finish = (): void => {
    if (done) return;
    done = true;
    clearInterval(timer);
    watcher?.close();
    wake?.();
  };

  const check = (): void => {
    if (done) return;
    let n: number | undefined;
    try {
      n = src.count();
    } catch {
      n = undefined;
    }
    if (n === undefined) return finish();
    if (n > last) {
      queue.push({ type: 'oom', oomKills: n });
      last = n;
      wake?.();
    }
    const p = src.populated?.();
    if (p === true) wasPopulated = true;
    if (p === false && wasPopulated) finish();
  };

  // Not unref'd: whoever iterates wants the process to stay up until the end.
  const timer = setInterval(check, intervalMs);
  let watcher: fs.FSWatcher | undefined;
  if (src.watchFile) {
    try {
      watcher = fs.watch(src.watchFile, { persistent: false }, () => check());
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined; // the timer still polls
    }
  }

  return {
    close: finish,
    [Symbol.asyncIterator](): AsyncIterator<OomEvent> {
      return {
        next: async (): Promise<IteratorResult<OomEvent>> => {
          for (;;) {
            const e = queue.shift();
            if (e) return { value: e, done: false };
            if (done) return { value: undefined, done: true };
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
        },
        return: async (): Promise<IteratorResult<OomEvent>> => {
          finish();
          return { value: undefined, done: true };
        },
      };
    },
  };
}
