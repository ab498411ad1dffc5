/**
 * `exec` of `true` into a running container, and `events --stats`, beside runc
 * (issue: median of ≥ 10 runs, as ratios).
 *
 *   make bench   (or: node dist/bench/runtime-exec.js [rounds])
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBusyboxRootfs, testSpec } from '../../test/support/bundle';
import { repoRoot } from '../../test/support/repo';
import { measure, median, report } from '../support/measure';

const berth = path.join(repoRoot(), 'dist/bin/berth-runtime');
const rounds = Number(process.argv[2] ?? 15);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-exec-'));
const bundle = path.join(work, 'bundle');
makeBusyboxRootfs(path.join(bundle, 'rootfs'));
fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(testSpec(['sleep', '600'])));
const roots = { berth: path.join(work, 'root-berth'), runc: path.join(work, 'root-runc') };

const ok = (bin: string, args: string[]) => {
  const r = spawnSync(bin, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.status}`);
};

try {
  ok(berth, ['--root', roots.berth, 'run', '-d', '--bundle', bundle, 'b']);
  ok('runc', ['--root', roots.runc, 'run', '-d', '--bundle', bundle, 'r']);
  const exec = measure(
    [
      { name: 'berth-runtime exec true', cmd: [berth, '--root', roots.berth, 'exec', 'b', 'true'] },
      { name: 'runc exec true', cmd: ['runc', '--root', roots.runc, 'exec', 'r', 'true'] },
    ],
    rounds,
  );
  report(`exec of true into a running container (${rounds} rounds, interleaved; load ${os.loadavg()[0].toFixed(1)})`, exec, 'runc exec true');
  const stats = measure(
    [
      { name: 'berth-runtime events --stats', cmd: [berth, '--root', roots.berth, 'events', '--stats', 'b'] },
      { name: 'runc events --stats', cmd: ['runc', '--root', roots.runc, 'events', '--stats', 'r'] },
    ],
    rounds,
  );
  report(`events --stats latency (${rounds} rounds, interleaved)`, stats, 'runc events --stats');
  process.stdout.write(
    `ratios: exec ${(median(exec.get('berth-runtime exec true')!) / median(exec.get('runc exec true')!)).toFixed(2)}, events --stats ${(median(stats.get('berth-runtime events --stats')!) / median(stats.get('runc events --stats')!)).toFixed(2)}\n`,
  );
} finally {
  spawnSync(berth, ['--root', roots.berth, 'delete', '--force', 'b']);
  spawnSync('runc', ['--root', roots.runc, 'delete', '--force', 'r']);
  spawnSync('rm', ['-rf', '--one-file-system', work]);
}
