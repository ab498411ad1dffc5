/**
 * Every process the support code starts is recorded here and killed when the
 * test file ends (afterAll) or the process exits, even when a test failed
 * before its own teardown: no daemon or registry outlives its test file.
 * (Jest may run this hook before a file's own afterAll: the stop() helpers
 * treat a process already gone as stopped.)
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

export function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.once('exit', () => live.delete(p));
  return p;
}

export function reapAll(): void {
  for (const p of live) {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
  live.clear();
}

process.once('exit', reapAll);
if (typeof afterAll === 'function') afterAll(reapAll);
