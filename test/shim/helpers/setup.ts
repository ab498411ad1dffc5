/**
 * One private containerd (with the busybox image imported) per test file,
 * torn down in afterAll even when tests fail. Files whose prerequisites are
 * missing are skipped with the reason in the describe name.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { watchCtrEvents, type CtrEvents } from '../../support/ctr-events';
import { buildBusyboxArchive, IMAGE_REF } from './image';
import { ensureBuilt, listProcesses, PrivateContainerd } from './containerd';

export { IMAGE_REF };
/**
 * The runtime under test; BERTH_SHIM_TEST_RUNTIME=io.containerd.runc.v2 runs
 * the same tests against containerd's own shim, to check the tests.
 */
export const RUNTIME = process.env.BERTH_SHIM_TEST_RUNTIME ?? 'io.containerd.berth.v2';
export const BERTH = ['--runtime', RUNTIME];

/** Why the end-to-end tests cannot run here, or undefined. */
export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['containerd', 'ctr', 'runc', 'tar']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed`;
    }
  }
  if (!fs.existsSync('/bin/busybox') && !fs.existsSync('/usr/bin/busybox')) return 'busybox-static is not installed';
  return undefined;
}

/** `describe` or `describe.skip` with the reason in the name. */
export function describeE2E(name: string, fn: () => void): void {
  const reason = skipReason();
  if (reason) describe.skip(`${name} — skipped: ${reason}`, fn);
  else describe(name, fn);
}

export function useContainerd(shimEnv: NodeJS.ProcessEnv = {}): { readonly c: PrivateContainerd } {
  let c: PrivateContainerd | undefined;
  beforeAll(async () => {
    ensureBuilt();
    c = await PrivateContainerd.start(shimEnv);
    await c.ctrOk(['images', 'import', buildBusyboxArchive(c.dir)]);
  }, 120_000);
  afterAll(async () => {
    await c?.cleanup();
  }, 60_000);
  return {
    get c(): PrivateContainerd {
      if (!c) throw new Error('containerd did not start');
      return c;
    },
  };
}

/** Polls `fn` until it returns true (or fails after `ms`). */
export async function eventually(fn: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The status column of `ctr tasks ls` for a task. */
export async function taskStatus(c: PrivateContainerd, id: string): Promise<string | undefined> {
  const out = await c.ctrOk(['tasks', 'ls']);
  for (const line of out.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[0] === id) return f[2];
  }
  return undefined;
}

/** Zombie processes whose parent is one of `parents`. */
export function zombiesOf(parents: number[]): number[] {
  return listProcesses().filter((p) => p.state === 'Z' && parents.includes(p.ppid)).map((p) => p.pid);
}

/**
 * Fails if a child of `parents` stays a zombie: one seen for an instant is
 * a process the shim has yet to reap (its Node server exiting to hibernate
 * or after Shutdown is one); one that lasts `ms` was never reaped.
 */
export async function expectNoZombiesOf(parents: number[], ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  let seen = zombiesOf(parents);
  while (seen.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    // only a zombie seen every time counts: a pid reaped and reused does not
    const now = zombiesOf(parents);
    seen = seen.filter((pid) => now.includes(pid));
  }
  expect(seen).toEqual([]);
}

/**
 * The process has exited: gone, or a zombie its parent has yet to reap (a
 * shim's reaper is reparented to pid 1 or a subreaper, whose reaping the
 * test does not control).
 */
export function exited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** `ctr events` against the private containerd, subscribed before it returns (watchCtrEvents). */
export function watchEvents(c: PrivateContainerd): Promise<CtrEvents> {
  return watchCtrEvents(c.address, c.env);
}
