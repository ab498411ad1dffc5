/**
 * The snapshotter conformance suite (containerd snapshots/testsuite): every
 * backend runs the same checks, with the same names.
 *
 *   snapshotterSuite('overlayfs', (root) => ..., { skip: reason | undefined })
 *
 * Each check gets a fresh temp dir with root/ (for the snapshotter) and work/
 * (for the test), and a new snapshotter. Teardown always unmounts everything
 * below the temp dir (deepest first) before removing it; a failure prints the
 * tree. Jest has no skip reason, so a skipped suite carries it in its name.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unmount } from '../../mount/mount';
import { mountsBelow } from '../fsutil/dirs';
import type { Snapshotter } from '../snapshotter';
import { basicChecks } from './checks-basic';
import { issueChecks } from './checks-issues';
import { berthChecks } from './checks-berth';

export interface Instance {
  snapshotter: Snapshotter;
  /** Releases what the factory made beyond the root (devices, pools); the suite closes the snapshotter. */
  cleanup?: () => Promise<void>;
}

/** Makes a snapshotter on root; called again on the same root by restarts. */
export type Factory = (root: string) => Promise<Instance>;

export interface SuiteOptions {
  /** Why the suite cannot run here; the suite is then skipped with this reason in its name. */
  skip?: string;
  /** Plants an orphan (a directory/device no record points to) in root; returns a check that it is gone. */
  orphan?: (root: string) => Promise<() => Promise<boolean>>;
  /** Per-check timeout (ms). */
  timeout?: number;
  /** The backend reports inodes in Usage (devmapper only knows mapped blocks). Default true. */
  usageInodes?: boolean;
  /** Checks to leave out, with the reason (a backend-specific limitation). */
  exclude?: Record<string, string>;
}

export interface CheckContext {
  /** The current snapshotter (a restart replaces it). */
  readonly sn: Snapshotter;
  root: string;
  work: string;
  options: SuiteOptions;
  /** Closes the snapshotter and opens a new one on the same root (a daemon restart). */
  restart(): Promise<void>;
}

export type Check = (ctx: CheckContext) => Promise<void>;

export function snapshotterSuite(name: string, factory: Factory, options: SuiteOptions = {}): void {
  if (options.skip) {
    describe.skip(`${name} — skipped: ${options.skip}`, () => {
      it('conformance', () => undefined);
    });
    return;
  }
  const checks: Array<[string, Check]> = [...basicChecks, ...issueChecks, ...berthChecks];
  const laneSkips = laneExclusions();
  describe(`${name} snapshotter conformance`, () => {
    for (const [checkName, fn] of checks) {
      const excluded = options.exclude?.[checkName] ?? laneSkips[checkName];
      if (excluded) {
        it.skip(`${checkName} — skipped: ${excluded}`, () => undefined);
        continue;
      }
      it(checkName, () => progress(`${name} ${checkName}`, () => makeTest(name, factory, options, fn)), options.timeout ?? 120_000);
    }
  });
}

/**
 * Checks a test lane leaves out: BERTH_SUITE_SKIP=<check>,<check>,... (the
 * VM lane's CI subset, where TCG makes 128LayersMount alone take minutes).
 */
function laneExclusions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of (process.env.BERTH_SUITE_SKIP ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    out[c] = 'left out of this lane by BERTH_SUITE_SKIP (the full suite: make test-vm-full)';
  }
  return out;
}

/** With BERTH_SUITE_PROGRESS=<file>, one line per check as it ends (to follow a slow VM lane). */
async function progress(what: string, fn: () => Promise<void>): Promise<void> {
  const file = process.env.BERTH_SUITE_PROGRESS;
  const t0 = Date.now();
  try {
    await fn();
    if (file) fs.appendFileSync(file, `ok   ${what} ${Date.now() - t0}ms\n`);
  } catch (err) {
    if (file) fs.appendFileSync(file, `FAIL ${what} ${Date.now() - t0}ms ${String(err).split('\n')[0]}\n`);
    throw err;
  }
}

async function makeTest(name: string, factory: Factory, options: SuiteOptions, fn: Check): Promise<void> {
  const tmp = await fs.promises.mkdtemp(path.join(process.env.BERTH_TEST_TMP ?? os.tmpdir(), `snapshot-suite-${name}-`));
  const root = path.join(tmp, 'root');
  const work = path.join(tmp, 'work');
  await fs.promises.mkdir(root, { recursive: true });
  await fs.promises.mkdir(work, { recursive: true });
  let inst: Instance | undefined;
  let failure: unknown;
  try {
    inst = await factory(root);
    const ctx: CheckContext = {
      get sn() {
        return (inst as Instance).snapshotter;
      },
      root,
      work,
      options,
      async restart() {
        // Only the snapshotter restarts; what the factory set up (a loop device) stays.
        const old = inst as Instance;
        await old.snapshotter.close();
        const next = await factory(root);
        inst = { snapshotter: next.snapshotter, cleanup: old.cleanup };
      },
    };
    await fn(ctx);
  } catch (err) {
    failure = err;
  }
  // Teardown: close (the store may live on a loop fs), unmount (deepest first),
  // release, dump on failure, remove.
  const teardownErrors: unknown[] = [];
  if (inst) await inst.snapshotter.close().catch((e) => teardownErrors.push(e));
  for (const mp of mountsBelow(tmp).sort((a, b) => b.length - a.length)) {
    await unmount(mp).catch(() => unmount(mp, { lazy: true })).catch((e) => teardownErrors.push(e));
  }
  if (inst) await inst.cleanup?.().catch((e) => teardownErrors.push(e));
  if (failure) {
    const dump = await dumpTree(tmp);
    await removeAll(tmp);
    const msg = failure instanceof Error ? failure.stack ?? failure.message : String(failure);
    throw new Error(`${msg}\n--- ${tmp} at failure ---\n${dump}`, { cause: failure });
  }
  await removeAll(tmp);
  if (teardownErrors.length > 0) throw new Error(`teardown failed: ${teardownErrors.map(String).join('; ')}`);
}

async function removeAll(tmp: string): Promise<void> {
  if (mountsBelow(tmp).length > 0) return; // never delete below a mount
  // btrfs subvolumes and read-only snapshots: make them deletable first.
  await fs.promises.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
}

/** `ls -lR`-like listing of a tree, at most 200 lines. */
export async function dumpTree(dir: string): Promise<string> {
  const lines: string[] = [];
  const visit = async (p: string, depth: number): Promise<void> => {
    if (lines.length >= 200) return;
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(p);
    } catch {
      return;
    }
    lines.push(`${'  '.repeat(depth)}${path.basename(p)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? 'dir' : st.size}`);
    if (st.isDirectory()) {
      for (const n of (await fs.promises.readdir(p).catch(() => [] as string[])).sort()) await visit(path.join(p, n), depth + 1);
    }
  };
  await visit(dir, 0);
  return lines.join('\n');
}
