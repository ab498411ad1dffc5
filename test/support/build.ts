/**
 * Rebuilds dist/ for a test only when it has to: when one of `outputs` is
 * missing or older than the newest file under `sources` (repository-relative).
 * jest workers run in parallel: one builds while the others wait (a mkdir is
 * the lock), and scripts/build.mjs replaces every file atomically, so a worker
 * running the binaries meanwhile never sees one missing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './repo';

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Output sets found fresh by this process: sources do not change during a test run. */
const checked = new Set<string>();

export function ensureBundles(outputs: string[], sources: string[]): void {
  const key = JSON.stringify([outputs, sources]);
  if (checked.has(key)) return;
  const root = repoRoot();
  const src = Math.max(...sources.map((s) => newest(path.join(root, s))));
  const fresh = () => outputs.every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= src);
  const lock = path.join(os.tmpdir(), `berth-build-lock-${Buffer.from(root).toString('hex').slice(-32)}`);
  while (!fresh()) {
    try {
      fs.mkdirSync(lock);
    } catch {
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) fs.rmSync(lock, { recursive: true, force: true }); // a build that died
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      continue;
    }
    try {
      if (!fresh()) execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'pipe' });
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  checked.add(key);
}
