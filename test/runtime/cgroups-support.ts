/**
 * Helpers for the cgroup tests (test/runtime/cgroups-*.test.ts): unique
 * cgroup names, plain busybox processes started inside a cgroup before they
 * run their script, and a tracker that kills every process and removes every
 * cgroup in afterEach, even when the test failed half-way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { detectHost } from '../../runtime/src/cgroups/detect';
import type { CgroupConfig, CgroupManager } from '../../runtime/src/cgroups/manager';
import { newCgroupManager } from '../../runtime/src/cgroups/new';

export const BUSYBOX = '/bin/busybox';
export const host = detectHost();
export const isV2 = host.mode === 'v2';

/** A cgroup name no other test (or helper, on this shared machine) uses. */
export function uniqueId(tag: string): string {
  return `berth-test-${tag}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Started {
  child: ChildProcess;
  pid: number;
  /** stdout + stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class CgroupTracker {
  private readonly managers: CgroupManager[] = [];
  private readonly children: ChildProcess[] = [];

  /** A new manager (relative path: runc's default layout) whose cgroups afterEach removes. */
  manager(tag: string, config: Partial<CgroupConfig> = {}): CgroupManager {
    const m = newCgroupManager({ id: uniqueId(tag), ...config });
    this.managers.push(m);
    return m;
  }

  adopt(m: CgroupManager): CgroupManager {
    this.managers.push(m);
    return m;
  }

  /**
   * Starts `busybox sh -c script` already inside m's cgroup: the shell waits
   * on stdin until apply(pid) is done, then runs the script.
   */
  start(m: CgroupManager, script: string): Started {
    const child = spawn(BUSYBOX, ['sh', '-c', `read _go; ${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    if (!child.pid) throw new Error('spawn failed');
    m.apply(child.pid);
    child.stdin!.write('go\n');
    return { child, pid: child.pid, output: () => out, exited };
  }

  /** Kills every process (thawing first) and removes every cgroup; reports what could not be cleaned. */
  async cleanup(): Promise<void> {
    const problems: string[] = [];
    for (const m of this.managers) {
      try {
        if (m.exists() && m.freezerState() === 'frozen') m.thaw();
      } catch {
        // best effort
      }
      try {
        if (m.exists()) for (const pid of m.pids()) killQuietly(pid);
      } catch {
        // best effort
      }
    }
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(this.children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    for (const m of this.managers) {
      for (let i = 0; i < 20; i++) {
        try {
          if (m.exists()) for (const pid of m.pids()) killQuietly(pid);
          m.destroy();
          break;
        } catch (err) {
          if (i === 19) problems.push(String(err));
          await sleep(50);
        }
      }
      for (const p of Object.values(m.paths())) if (fs.existsSync(p)) problems.push(`left behind: ${p}`);
    }
    this.managers.length = 0;
    this.children.length = 0;
    if (problems.length) throw new Error(`cgroup test cleanup failed: ${problems.join('; ')}`);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** jest has no skip reason: put it in the name (STYLE §2.3). */
export function describeIf(cond: boolean, reason: string): (name: string, fn: () => void) => void {
  return cond ? describe : (name: string, fn: () => void) => describe.skip(`${name} — skipped: ${reason}`, fn);
}

/** p, or a rejection after ms (the timer is cleared either way). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
