/**
 * Every process the support code starts is recorded here and killed when the
 * test file ends (afterAll) or the process exits, even when a test failed
 * before its own teardown: no daemon or registry outlives its test file.
 * (Jest may run this hook before a file's own afterAll: the stop() helpers
 * treat a process already gone as stopped.)
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

const live = new Set<ChildProcess>();
const dirs = new Set<string>();

/** A temp dir the support code made (nothing is ever mounted below it): removed after its processes. */
export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

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
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

process.once('exit', reapAll);
if (typeof afterAll === 'function') afterAll(reapAll);
