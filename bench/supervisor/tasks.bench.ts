/**
 * Time from `ctr run -d` to a running task (ctr returns once Start has), on
 * berthd and on a private containerd in the same run, with our shim
 * (io.containerd.berth.v2 over berth-runtime) and containerd's
 * (io.containerd.runc.v2 over runc), for the same busybox root filesystem
 * (`--rootfs`: no snapshot, so only the task path is measured). Each case
 * runs BENCH_RUNS times (default 7) after two warm-up rounds, interleaved;
 * the task and container are removed (not timed) after each run.
 *
 * A berth shim holds up to 8 containers: "fresh shim" runs with no other
 * container in the namespace (a shim starts for each run, as containerd's
 * runc shim always does); "joins a shim" keeps one sleeping container, whose
 * shim the new one joins.
 *
 *   node bench/supervisor/run.mjs tasks
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, measure, report, type Variant } from '../support/measure';
import { berthctlJs, startContainerd, type Daemon } from '../../test/supervisor/support/daemon';
import { listProcesses, makeRootfs, startTaskEnv } from '../../test/supervisor/support/tasks';

const runs = Number(process.env.BENCH_RUNS ?? 7);
const BERTH = 'io.containerd.berth.v2';
const RUNC = 'io.containerd.runc.v2';

async function main(): Promise<void> {
  // the support builds everything and gives berthd's environment (shim state under the temp dir)
  const t = await startTaskEnv();
  let containerd: Daemon | undefined;
  try {
    containerd = await startContainerd({ env: t.env });
    const rootfs = makeRootfs(path.join(t.dir, 'bench'));
    const env = t.env;
    const ctr = (addr: string, ns: string, ...a: string[]) => ['ctr', '--address', addr, '--namespace', ns, ...a];
    const ok = (cmd: string[]) => {
      const r = spawnSync(cmd[0], cmd.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
    };
    const [NS, SHARED] = [t.ns, `${t.ns}-shared`];
    const b = t.daemon.address;
    const c = containerd.address;
    const clean = (addr: string, ns: string, id: string) => () => {
      ok(ctr(addr, ns, 'tasks', 'rm', '-f', id));
      ok(ctr(addr, ns, 'containers', 'rm', id));
    };
    const runCase = (name: string, addr: string, ns: string, runtime: string, id: string): Variant => ({
      name,
      cmd: ctr(addr, ns, 'run', '-d', '--rootfs', '--runtime', runtime, rootfs, id, '/bin/sleep', '1000'),
      after: clean(addr, ns, id),
      opts: { env },
    });
    // a sleeper per daemon in the "joins a shim" namespace keeps a berth shim up
    // (ids differ between the daemons: both use the same runtime state roots)
    const holders: [string, string][] = [[b, 'holder-b'], [c, 'holder-c']];
    for (const [addr, id] of holders) ok(ctr(addr, SHARED, 'run', '-d', '--rootfs', '--runtime', BERTH, rootfs, id, '/bin/sleep', '100000'));
    const variants: Variant[] = [
      runCase('berthd + berth shim (fresh shim)', b, NS, BERTH, 'b1'),
      runCase('berthd + berth shim (joins a shim)', b, SHARED, BERTH, 'b2'),
      runCase('berthd + runc shim', b, NS, RUNC, 'b3'),
      runCase('containerd + runc shim', c, NS, RUNC, 'c1'),
      runCase('containerd + berth shim (fresh)', c, NS, BERTH, 'c2'),
      {
        name: 'berthctl run -d → berthd + berth shim',
        cmd: [process.execPath, berthctlJs, '--address', b, '--namespace', NS, 'run', '-d', '--rootfs', rootfs, 'b4', 'sleep', '1000'],
        after: clean(b, NS, 'b4'),
        opts: { env },
      },
    ];
    const results = measure(variants, runs);
    report(`ctr run -d --rootfs … sleep → running: ${runs} runs (after 2 warm-up rounds), interleaved; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`, results, 'containerd + runc shim');
    const m = (n: string) => median(results.get(n)!);
    process.stdout.write(
      `\nratio containerd+runc / berthd+berth: ${(m('containerd + runc shim') / m('berthd + berth shim (fresh shim)')).toFixed(2)} (fresh shim), ` +
        `${(m('containerd + runc shim') / m('berthd + berth shim (joins a shim)')).toFixed(2)} (joins a shim); ` +
        `daemons alone (runc shim on both): ${(m('containerd + runc shim') / m('berthd + runc shim')).toFixed(2)}; ` +
        `shims alone (containerd on both): ${(m('containerd + runc shim') / m('containerd + berth shim (fresh)')).toFixed(2)}  (> 1: berth is faster)\n`,
    );
    for (const [addr, id] of holders) {
      ok(ctr(addr, SHARED, 'tasks', 'rm', '-f', id));
      ok(ctr(addr, SHARED, 'containers', 'rm', id));
    }
  } finally {
    // containerd's shims, then what t.cleanup does not know: the shared namespace's containers and cgroups
    for (const p of listProcesses()) if (containerd && p.cmdline.includes(`-address ${containerd.address} `)) process.kill(p.pid, 'SIGKILL');
    await containerd?.stop('SIGKILL');
    const shared = `${t.ns}-shared`;
    for (const root of [path.join(t.dir, 'runtime', shared), path.join('/run/containerd/runc', shared)]) {
      for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) spawnSync('runc', ['--root', root, 'delete', '--force', id]);
      fs.rmSync(root, { recursive: true, force: true });
    }
    for (const ctrl of fs.readdirSync('/sys/fs/cgroup')) {
      for (const ns of [shared]) {
        const dir = path.join('/sys/fs/cgroup', ctrl, ns);
        for (const id of fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? fs.readdirSync(dir) : []) {
          try {
            fs.rmdirSync(path.join(dir, id));
          } catch {
            // a file, or busy
          }
        }
        try {
          fs.rmdirSync(dir);
        } catch {
          // absent
        }
      }
    }
    await t.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
