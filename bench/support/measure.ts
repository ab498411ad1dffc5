/**
 * Measuring commands side by side: each round runs every variant once, in
 * turn, so that background load hits all of them alike; medians and ratios
 * are reported, never single runs.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Variant {
  name: string;
  cmd: string[];
  /** Run before each measured run (not timed), e.g. to remove a leftover. */
  before?: () => void;
  after?: () => void;
  opts?: SpawnSyncOptions;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Where variants are served by long-running daemons: run `block` commands of
 * one variant in a row, after a pause of `pauseMs`, before the next variant's.
 * A daemon's work after a command (its garbage collection, a closing
 * connection) then lands on its own next command, as it does for a user of
 * that daemon, instead of on another variant's command run next, and the
 * pause lets the previous variant's last command finish before the block.
 */
export interface Blocks {
  block: number;
  pauseMs: number;
}

/**
 * Wall-clock milliseconds of each run of each variant, interleaved (one run,
 * or one block of runs, of each in turn); the order rotates from round to
 * round, so that no variant always runs first (after the others' clean-up)
 * or last.
 */
export function measure(variants: Variant[], rounds: number, warmup = 2, blocks: Blocks = { block: 1, pauseMs: 0 }): Map<string, number[]> {
  const out = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let r = -warmup; r < rounds; r++) {
    const k = (r + warmup) % variants.length;
    for (const v of [...variants.slice(k), ...variants.slice(0, k)]) {
      if (blocks.pauseMs > 0) Atomics.wait(pause, 0, 0, blocks.pauseMs);
      for (let i = 0; i < blocks.block; i++) {
        v.before?.();
        const t0 = process.hrtime.bigint();
        const res = spawnSync(v.cmd[0], v.cmd.slice(1), { stdio: 'ignore', ...v.opts });
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        v.after?.();
        if (res.status !== 0) throw new Error(`${v.name}: ${v.cmd.join(' ')} exited ${res.status}`);
        if (r >= 0) out.get(v.name)!.push(ms);
      }
    }
  }
  return out;
}

export function report(title: string, results: Map<string, number[]>, baseline: string): void {
  const base = median(results.get(baseline)!);
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(`${'variant'.padEnd(34)} ${'median ms'.padStart(10)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${`÷ ${baseline}`.padStart(14)}\n`);
  for (const [name, xs] of results) {
    const m = median(xs);
    process.stdout.write(
      `${name.padEnd(34)} ${m.toFixed(1).padStart(10)} ${Math.min(...xs).toFixed(1).padStart(8)} ${Math.max(...xs).toFixed(1).padStart(8)} ${(m / base).toFixed(2).padStart(14)}\n`,
    );
  }
}

/**
 * Peak resident set (VmHWM, KiB) of a command, from GNU time. Its report goes
 * to a file: a container started by the command inherits stdio, and a pipe it
 * holds would keep spawnSync waiting.
 */
export function peakRssKiB(cmd: string[], opts: SpawnSyncOptions = {}): number {
  const out = path.join(os.tmpdir(), `berth-bench-time-${process.pid}`);
  try {
    spawnSync('/usr/bin/time', ['-o', out, '-f', '%M', ...cmd], { ...opts, stdio: 'ignore' });
    return Number(fs.readFileSync(out, 'utf8').trim().split('\n').pop());
  } finally {
    fs.rmSync(out, { force: true });
  }
}
