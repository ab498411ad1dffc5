/**
 * containerd-shim-berth-v2 beside containerd-shim-runc-v2, in the same run,
 * on a private containerd 1.6 (runc as the OCI runtime under both):
 *
 *   1. memory of one idle shim holding one sleeping container: Pss (from
 *      /proc/PID/smaps_rollup) and RssAnon (from /proc/PID/status), summed
 *      over the shim's own processes (berth: native reaper + Node server):
 *      berth hibernated (the default after BERTH_SHIM_IDLE_EXIT, 30 s, idle:
 *      the reaper alone), and berth awake (hibernation off) for several V8
 *      flag sets;
 *   2. time of `ctr run -d` until the task runs (median of BENCH_RUNS),
 *      for a new shim and for a container joining a running shim; and of
 *      `ctr tasks ls` (a State call) to a shim asleep, awake, and runc's; each
 *      berth case also with BERTH_NO_SNAPSHOT (the plain bundle) for what the
 *      start-up snapshot buys (section 1 has its memory cost);
 *   3. BENCH_N idle containers: total and per-container memory of all shim
 *      processes, berth packed (default), berth one-per-container, runc;
 *      berth awake (after SETTLE_MS) and hibernated.
 *
 *   bench/shim/run.sh            (BENCH_N=100 BENCH_RUNS=7 by default)
 *
 * Pss counts shared pages (the node binary) divided among the processes
 * mapping them, so it depends on what else runs; RssAnon is the private,
 * stable part. Numbers are printed as a markdown report.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ensureBuilt, listProcesses, PrivateContainerd } from '../../test/shim/helpers/containerd';
import { buildBusyboxArchive, IMAGE_REF } from '../../test/shim/helpers/image';

const N = Number(process.env.BENCH_N ?? 100);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SETTLE_MS = 6000;
/** The default idle time before a berth shim hibernates (shim/src/hibernate.ts), plus slack. */
const HIBERNATE_WAIT_MS = 60_000;

interface Mem { pss: number; anon: number; procs: number }

function memOf(pids: number[]): Mem {
  let pss = 0;
  let anon = 0;
  for (const pid of pids) {
    try {
      pss += Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
      anon += Number(/^RssAnon:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    } catch {
      // exited
    }
  }
  return { pss, anon, procs: pids.length };
}

const mb = (kb: number): string => (kb / 1024).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withContainerd<T>(env: NodeJS.ProcessEnv, fn: (c: PrivateContainerd) => Promise<T>): Promise<T> {
  const c = await PrivateContainerd.start(env);
  try {
    await c.ctrOk(['images', 'import', buildBusyboxArchive(c.dir)]);
    return await fn(c);
  } finally {
    await c.cleanup();
  }
}

async function runDetached(c: PrivateContainerd, runtime: string, id: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await c.ctrOk(['run', '-d', '--runtime', runtime, IMAGE_REF, id, 'sleep', '1000000'], { timeoutMs: 120_000 });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function removeAll(c: PrivateContainerd, ids: string[]): Promise<void> {
  for (const id of ids) {
    await c.ctr(['tasks', 'kill', '-s', 'SIGKILL', id]);
  }
  for (const id of ids) {
    for (let i = 0; i < 100; i++) {
      if ((await c.ctr(['tasks', 'delete', id])).code === 0) break;
      await sleep(50);
    }
    await c.ctr(['containers', 'delete', id]);
  }
}

function runcShimPids(c: PrivateContainerd): number[] {
  return c.runcShimPids();
}

const report: string[] = [];
const out = (line = ''): void => {
  report.push(line);
  console.log(line);
};

async function oneIdle(): Promise<void> {
  out('## 1. One idle shim holding one sleeping container');
  out();
  out('| shim | state, V8 flags | processes | Pss MB | RssAnon MB |');
  out('| --- | --- | ---: | ---: | ---: |');
  // undefined: hibernation on (the default); else the server's V8 flags, hibernation off.
  const variants: [string, string | undefined, NodeJS.ProcessEnv?][] = [
    ['hibernated (default)', undefined],
    ['awake, default flags', ''],
    ['awake, default flags, no start-up snapshot', '', { BERTH_NO_SNAPSHOT: '1' }],
    ['awake, no flags', ' '],
    ['awake, --jitless --single-threaded', '--jitless --single-threaded'],
    ['awake, --lite-mode --max-semi-space-size=1 --single-threaded', '--lite-mode --max-semi-space-size=1 --single-threaded'],
  ];
  for (const [label, flags, extra] of variants) {
    const env: NodeJS.ProcessEnv = { BERTH_SHIM_GROUP: 'container', ...extra };
    if (flags !== undefined) env.BERTH_SHIM_IDLE_EXIT = '0';
    if (flags) env.BERTH_SHIM_NODE_FLAGS = flags;
    await withContainerd(env, async (c) => {
      await runDetached(c, 'io.containerd.berth.v2', 'idle-berth');
      const withRunc = flags === undefined;
      if (withRunc) await runDetached(c, 'io.containerd.runc.v2', 'idle-runc');
      await sleep(SETTLE_MS);
      if (flags === undefined) {
        const t0 = Date.now();
        await untilHibernated(c);
        console.error(`  hibernated ${((Date.now() - t0 + SETTLE_MS) / 1000).toFixed(1)} s after the run`);
      }
      const b = memOf(c.shimPids());
      out(`| berth | ${label} | ${b.procs} | ${mb(b.pss)} | ${mb(b.anon)} |`);
      if (withRunc) {
        const r = memOf(runcShimPids(c));
        out(`| runc v2 | (Go) | ${r.procs} | ${mb(r.pss)} | ${mb(r.anon)} |`);
      }
      await removeAll(c, withRunc ? ['idle-berth', 'idle-runc'] : ['idle-berth']);
    });
  }
  out();
}

/** Waits until no berth shim of `c` runs its Node server (all hibernated). */
async function untilHibernated(c: PrivateContainerd): Promise<void> {
  const end = Date.now() + HIBERNATE_WAIT_MS;
  while (c.shimPids().length > c.reaperPids().length) {
    if (Date.now() > end) throw new Error('the berth shims did not hibernate');
    await sleep(200);
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The berth shim as built (start-up snapshot), and with BERTH_NO_SNAPSHOT (the plain bundle), to show what the snapshot buys. */
const BUILDS: readonly (readonly [string, NodeJS.ProcessEnv])[] = [['', {}], [', no start-up snapshot', { BERTH_NO_SNAPSHOT: '1' }]];

async function startLatency(): Promise<void> {
  out(`## 2. Latency (median of ${RUNS}): \`ctr run -d\` until running; a request to an idle shim`);
  out();
  const rows: [string, number[]][] = [];
  const runc: number[] = [];
  for (const [suffix, extra] of BUILDS) {
    // a new shim per container, runc's interleaved with the first
    await withContainerd({ BERTH_SHIM_GROUP: 'container', ...extra }, async (c) => {
      const xs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        xs.push(await runDetached(c, 'io.containerd.berth.v2', `lat-b${i}`));
        if (!suffix) runc.push(await runDetached(c, 'io.containerd.runc.v2', `lat-r${i}`));
      }
      await removeAll(c, [...Array(RUNS).keys()].flatMap((i) => (suffix ? [`lat-b${i}`] : [`lat-b${i}`, `lat-r${i}`])));
      rows.push([`berth, new shim${suffix}`, xs]);
    });
    // containers joining one running shim
    await withContainerd({ BERTH_SHIM_GROUP: String(RUNS + 1), ...extra }, async (c) => {
      const xs: number[] = [];
      await runDetached(c, 'io.containerd.berth.v2', 'lat-j0');
      for (let i = 1; i <= RUNS; i++) xs.push(await runDetached(c, 'io.containerd.berth.v2', `lat-j${i}`));
      await removeAll(c, [...Array(RUNS + 1).keys()].map((i) => `lat-j${i}`));
      rows.push([`berth, joining a running shim${suffix}`, xs]);
    });
    // `ctr tasks ls` (containerd asks the shim for State) with the shim asleep, then awake
    await withContainerd({ BERTH_SHIM_GROUP: 'container', BERTH_SHIM_IDLE_EXIT: '1000', ...extra }, async (c) => {
      const asleep: number[] = [];
      const awake: number[] = [];
      await runDetached(c, 'io.containerd.berth.v2', 'req-b');
      for (let i = 0; i < RUNS; i++) {
        await untilHibernated(c);
        asleep.push(await timed(() => c.ctrOk(['tasks', 'ls'])));
        awake.push(await timed(() => c.ctrOk(['tasks', 'ls'])));
      }
      await removeAll(c, ['req-b']);
      rows.push([`\`ctr tasks ls\`, berth shim asleep (woken)${suffix}`, asleep], [`\`ctr tasks ls\`, berth shim awake${suffix}`, awake]);
    });
  }
  await withContainerd({}, async (c) => {
    const xs: number[] = [];
    await runDetached(c, 'io.containerd.runc.v2', 'req-r');
    for (let i = 0; i < RUNS; i++) xs.push(await timed(() => c.ctrOk(['tasks', 'ls'])));
    await removeAll(c, ['req-r']);
    rows.push(['`ctr tasks ls`, runc v2 shim', xs]);
  });
  rows.push(['runc v2, new shim', runc]);
  out('| case | median ms | min | max | ratio to runc\'s same case |');
  out('| --- | ---: | ---: | ---: | ---: |');
  const peer = (name: string): number | undefined =>
    name.startsWith('`ctr tasks ls`') ? median(rows.find(([n]) => n === '`ctr tasks ls`, runc v2 shim')![1])
      : name.includes('new shim') ? median(runc) : undefined;
  for (const [name, xs] of rows) {
    const p = peer(name);
    out(`| ${name} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} | ${p ? (median(xs) / p).toFixed(2) : ''} |`);
  }
  out();
}

async function many(): Promise<void> {
  out(`## 3. ${N} idle containers (sleep), memory of all shim processes`);
  out();
  out('| shim | shims | processes | total Pss MB | Pss/container MB | total RssAnon MB | RssAnon/container MB | all running |');
  out('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  const cases: [string, string, NodeJS.ProcessEnv][] = [
    ['berth, packs of 8 (default)', 'io.containerd.berth.v2', {}],
    ['berth, one per container', 'io.containerd.berth.v2', { BERTH_SHIM_GROUP: 'container' }],
    ['runc v2', 'io.containerd.runc.v2', {}],
  ];
  for (const [name, runtime, env] of cases) {
    await withContainerd(env, async (c) => {
      const ids = [...Array(N).keys()].map((i) => `many-${i}`);
      for (const id of ids) await runDetached(c, runtime, id);
      await sleep(SETTLE_MS);
      const berth = runtime !== 'io.containerd.runc.v2';
      const measure = (label: string): number[] => {
        const pids = berth ? c.shimPids() : runcShimPids(c);
        const shims = berth ? c.reaperPids().length : pids.length;
        const m = memOf(pids);
        out(`| ${label} | ${shims} | ${m.procs} | ${mb(m.pss)} | ${mb(m.pss / N)} | ${mb(m.anon)} | ${mb(m.anon / N)} | |`);
        return pids;
      };
      let pids = measure(berth ? `${name}, awake` : name);
      if (berth) {
        await untilHibernated(c);
        pids = [...new Set([...pids, ...measure(`${name}, hibernated`)])];
      }
      const ls = await c.ctrOk(['tasks', 'ls']); // wakes every shim
      const running = ls.split('\n').filter((l) => /\bRUNNING\b/.test(l)).length;
      out(`| (${name}: running afterwards) | | | | | | | ${running}/${N} |`);
      const t0 = Date.now();
      await removeAll(c, ids);
      const zombies = listProcesses().filter((p) => p.state === 'Z' && pids.includes(p.ppid));
      if (zombies.length) out(`(${name}: ${zombies.length} zombies after removal)`);
      console.error(`  removed ${N} in ${Date.now() - t0} ms`);
    });
  }
  out();
}

async function main(): Promise<void> {
  ensureBuilt();
  out(`# containerd-shim-berth-v2 vs containerd-shim-runc-v2`);
  out();
  out(`${new Date().toISOString()}, node ${process.version}, ${execFileSync('containerd', ['--version'], { encoding: 'utf8' }).trim()}, ` +
    `runc ${execFileSync('runc', ['--version'], { encoding: 'utf8' }).split('\n')[0].split(' ')[2]}, ${require('node:os').cpus().length} CPUs`);
  out();
  const which = process.argv[2] ?? 'all';
  if (which === 'all' || which === 'idle') await oneIdle();
  if (which === 'all' || which === 'latency') await startLatency();
  if (which === 'all' || which === 'many') await many();
  if (process.env.BENCH_SAVE) fs.writeFileSync(process.env.BENCH_SAVE, `${report.join('\n')}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
