/**
 * berthd beside a private containerd, in the same run: import of the same
 * image archive and pull of the same image from a local docker-registry.
 * Each case runs N times (default 5, BENCH_RUNS), interleaved, with the
 * content removed and collected between runs; the report gives medians and
 * containerd/berthd ratios (> 1: berthd is faster).
 *
 * Clients: berthctl for berthd and ctr for containerd (each daemon with its
 * own CLI, end to end), plus ctr against berthd (the same client on both
 * daemons, which isolates the daemons). Pull with ctr is `content fetch`:
 * `ctr images pull` would also unpack, which berthd cannot do yet.
 *
 *   node bench/supervisor/run.mjs            (bundles this file and runs it)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { berthctlJs, ensureBuilt, startBerthd, startContainerd, removeDir, type Daemon } from '../../test/supervisor/support/daemon';
import { makeBusyboxLayout, tarLayout } from '../../test/supervisor/support/image';
import { startRegistry } from '../../test/supervisor/support/registry';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const layerMiB = Number(process.env.BENCH_LAYER_MIB ?? 32);

function time(cmd: string, args: string[]): number {
  const t = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  ensureBuilt();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  let berthd: Daemon | undefined;
  let containerd: Daemon | undefined;
  const reg = await startRegistry(work);
  try {
    const layout = await makeBusyboxLayout(work, { extraBytes: layerMiB << 20 });
    const archive = await tarLayout(layout.dir, path.join(work, 'image.tar'));
    const ref = `${reg.host}/bench/busybox:latest`;
    execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:latest`, `docker://${ref}`]);
    [berthd, containerd] = await Promise.all([startBerthd(), startContainerd()]);
    const b = berthd.address;
    const c = containerd.address;
    const berthctl = (...a: string[]) => [process.execPath, [berthctlJs, '--address', b, ...a]] as const;
    const ctr = (addr: string, ...a: string[]) => ['ctr', ['--address', addr, ...a]] as const;

    type Case = { name: string; run: readonly [string, readonly string[]]; clean: readonly [string, readonly string[]] };
    const cases: Case[] = [
      { name: 'import  berthctl → berthd', run: berthctl('images', 'import', '--progress=false', '--base-name', 'bench/img', archive), clean: berthctl('images', 'rm', '--sync', 'bench/img:latest') },
      { name: 'import  ctr → berthd', run: ctr(b, 'images', 'import', '--no-unpack', '--base-name', 'bench/img', archive), clean: ctr(b, 'images', 'rm', '--sync', 'bench/img:latest') },
      { name: 'import  ctr → containerd', run: ctr(c, 'images', 'import', '--no-unpack', '--base-name', 'bench/img', archive), clean: ctr(c, 'images', 'rm', '--sync', 'bench/img:latest') },
      { name: 'pull    berthctl → berthd', run: berthctl('images', 'pull', '--progress=false', '--plain-http', '--no-unpack', ref), clean: berthctl('images', 'rm', '--sync', ref) },
      { name: 'pull    ctr → berthd', run: ctr(b, 'content', 'fetch', '--plain-http', ref), clean: ctr(b, 'images', 'rm', '--sync', ref) },
      { name: 'pull    ctr → containerd', run: ctr(c, 'content', 'fetch', '--plain-http', ref), clean: ctr(c, 'images', 'rm', '--sync', ref) },
    ];
    const results = new Map<string, number[]>(cases.map((x) => [x.name, []]));
    for (let i = 0; i < runs + 1; i++) {
      for (const x of cases) {
        const ms = time(x.run[0], [...x.run[1]]);
        time(x.clean[0], [...x.clean[1]]);
        if (i > 0) results.get(x.name)!.push(ms); // the first round warms caches
      }
    }
    const m = (n: string) => median(results.get(n)!);
    // peak resident memory of each daemon over the whole run (VmHWM)
    const peak = (pid: number | undefined) => {
      const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:')) ?? '';
      return Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
    };
    const peaks = { berthd: peak(berthd.proc.pid), containerd: peak(containerd.proc.pid) };
    const size = fs.statSync(archive).size;
    const lines = [
      `image: busybox + ${layerMiB} MiB layer, archive ${(size / 2 ** 20).toFixed(1)} MiB; ${runs} runs each (after one warm-up), interleaved; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
      '',
      ...cases.map((x) => `${x.name.padEnd(28)} median ${m(x.name).toFixed(0).padStart(6)} ms   runs ${results.get(x.name)!.map((v) => v.toFixed(0)).join(' ')}`),
      '',
      `ratio containerd/berthd (>1: berthd faster)`,
      `  import, each daemon with its CLI   ${(m('import  ctr → containerd') / m('import  berthctl → berthd')).toFixed(2)}`,
      `  import, ctr on both daemons        ${(m('import  ctr → containerd') / m('import  ctr → berthd')).toFixed(2)}`,
      `  pull,   each daemon with its CLI   ${(m('pull    ctr → containerd') / m('pull    berthctl → berthd')).toFixed(2)}`,
      `  pull,   ctr on both daemons        ${(m('pull    ctr → containerd') / m('pull    ctr → berthd')).toFixed(2)}`,
      '',
      `peak RSS: berthd ${peaks.berthd.toFixed(0)} MiB, containerd ${peaks.containerd.toFixed(0)} MiB`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await berthd?.stop();
    await containerd?.stop();
    await reg.stop();
    if (berthd) removeDir(berthd.dir);
    if (containerd) removeDir(containerd.dir);
    removeDir(work);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
