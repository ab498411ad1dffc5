/**
 * `events --stats` latency, berth beside runc, on the same running runc
 * container (berth reads the cgroups runc made, from runc's state.json):
 *
 *   in-process   loadCgroupManager(paths).stats() + JSON, inside one Node process
 *   berth cli    a fresh `node stats-once.js` process doing the same (what a
 *                `berth-runtime events --stats` pays, minus the CLI parsing)
 *   node -e 0    a bare Node start, for scale (the runtime's V8 snapshot attacks this)
 *   runc         `runc events --stats ID`
 *
 * Medians of RUNS runs each (default 20), after 3 warm-ups.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCgroupManager } from '../../runtime/src/cgroups/new';
import { formatStatsEvent } from '../../runtime/src/cgroups/stats';

const RUNS = Number(process.env.RUNS ?? 20);
const statsOnce = process.argv[2];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function measure(name: string, fn: () => void): number {
  for (let i = 0; i < 3; i++) fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) ms.push(time(fn));
  const m = median(ms);
  console.log(`${name.padEnd(12)} median ${m.toFixed(2).padStart(8)} ms  (min ${Math.min(...ms).toFixed(2)}, max ${Math.max(...ms).toFixed(2)}, n=${RUNS})`);
  return m;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-events-'));
const root = path.join(tmp, 'state');
const id = `berth-bench-${process.pid}`;
try {
  const bundle = path.join(tmp, 'bundle');
  fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(bundle, 'rootfs', 'bin', 'busybox'));
  execFileSync('runc', ['spec'], { cwd: bundle });
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['/bin/busybox', 'sleep', '600'];
  config.linux.resources = { ...config.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 50 } };
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  execFileSync('runc', ['--root', root, 'run', '-d', '--bundle', bundle, id], { stdio: 'ignore' });
  const paths = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8')).cgroup_paths as Record<string, string>;
  const pathsJson = JSON.stringify(paths);
  console.log(`events --stats latency on ${os.cpus().length} cpus, cgroup ${loadCgroupManager(paths).mode}, runc ${/runc version (\S+)/.exec(execFileSync('runc', ['--version'], { encoding: 'utf8' }))?.[1]}`);

  const inproc = measure('in-process', () => {
    formatStatsEvent(id, loadCgroupManager(paths).stats());
  });
  const cli = measure('berth cli', () => {
    const r = spawnSync(process.execPath, [statsOnce, id, pathsJson], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  });
  const bare = measure('node -e 0', () => {
    spawnSync(process.execPath, ['-e', '0']);
  });
  const runc = measure('runc', () => {
    const r = spawnSync('runc', ['--root', root, 'events', '--stats', id], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  });
  console.log(`ratio berth cli / runc: ${(cli / runc).toFixed(2)}; in-process / runc: ${(inproc / runc).toFixed(3)}; berth cli minus bare node start: ${(cli - bare).toFixed(1)} ms`);
} finally {
  spawnSync('runc', ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
  fs.rmSync(tmp, { recursive: true, force: true });
}
