/**
 * berthd beside a private containerd, in the same run: import of the same
 * image archive and pull of the same image from a local docker-registry.
 * Each case runs N times (default 5, BENCH_RUNS), interleaved, with the
 * content removed and collected between runs; the report gives medians and
 * containerd/berthd ratios (> 1: berthd is faster).
 *
 * Clients: berthctl for berthd and ctr for containerd (each daemon with its
 * own CLI, end to end), plus ctr against berthd (the same client on both
 * daemons, which isolates the daemons). Each case runs with unpacking into
 * overlayfs (the default of both CLIs: `images import`, `images pull`) and
 * without (`--no-unpack`, `ctr content fetch`); between runs the image is
 * removed with --sync and the daemon is waited on until its snapshots are
 * gone, so every unpack starts from nothing.
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
import { berthdOptionsFromEnv } from '../support/berthd-env';

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

/** A /proc/PID/status field in MiB (VmRSS, VmHWM). */
function status(pid: number | undefined, field: string): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? '';
  return Number(/(\d+)/.exec(line)?.[1] ?? 0) / 1024;
}

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
    [berthd, containerd] = await Promise.all([startBerthd(berthdOptionsFromEnv()), startContainerd()]);
    await new Promise((r) => setTimeout(r, 500)); // start-up collections done
    const idle = { berthd: status(berthd.proc.pid, 'VmRSS'), containerd: status(containerd.proc.pid, 'VmRSS') };
    const b = berthd.address;
    const c = containerd.address;
    const berthctl = (...a: string[]) => [process.execPath, [berthctlJs, '--address', b, ...a]] as const;
    const ctr = (addr: string, ...a: string[]) => ['ctr', ['--address', addr, ...a]] as const;

    type Cmd = readonly [string, readonly string[]];
    type Case = { name: string; run: Cmd; clean: Cmd; addr: string; via: 'ctr' | 'berthctl' };
    const rmImg = (via: 'ctr' | 'berthctl', addr: string, name: string): Cmd => (via === 'berthctl' ? berthctl('images', 'rm', '--sync', name) : ctr(addr, 'images', 'rm', '--sync', name));
    const cases: Case[] = [
      { name: 'import  berthctl → berthd', via: 'berthctl', addr: b, run: berthctl('images', 'import', '--progress=false', '--base-name', 'bench/img', archive), clean: rmImg('berthctl', b, 'bench/img:latest') },
      { name: 'import  ctr → berthd', via: 'ctr', addr: b, run: ctr(b, 'images', 'import', '--base-name', 'bench/img', archive), clean: rmImg('ctr', b, 'bench/img:latest') },
      { name: 'import  ctr → containerd', via: 'ctr', addr: c, run: ctr(c, 'images', 'import', '--base-name', 'bench/img', archive), clean: rmImg('ctr', c, 'bench/img:latest') },
      { name: 'pull    berthctl → berthd', via: 'berthctl', addr: b, run: berthctl('images', 'pull', '--progress=false', '--plain-http', ref), clean: rmImg('berthctl', b, ref) },
      { name: 'pull    ctr → berthd', via: 'ctr', addr: b, run: ctr(b, 'images', 'pull', '--plain-http', ref), clean: rmImg('ctr', b, ref) },
      { name: 'pull    ctr → containerd', via: 'ctr', addr: c, run: ctr(c, 'images', 'pull', '--plain-http', ref), clean: rmImg('ctr', c, ref) },
      { name: 'import  berthctl → berthd (no unpack)', via: 'berthctl', addr: b, run: berthctl('images', 'import', '--progress=false', '--no-unpack', '--base-name', 'bench/img', archive), clean: rmImg('berthctl', b, 'bench/img:latest') },
      { name: 'import  ctr → berthd (no unpack)', via: 'ctr', addr: b, run: ctr(b, 'images', 'import', '--no-unpack', '--base-name', 'bench/img', archive), clean: rmImg('ctr', b, 'bench/img:latest') },
      { name: 'import  ctr → containerd (no unpack)', via: 'ctr', addr: c, run: ctr(c, 'images', 'import', '--no-unpack', '--base-name', 'bench/img', archive), clean: rmImg('ctr', c, 'bench/img:latest') },
      { name: 'pull    berthctl → berthd (no unpack)', via: 'berthctl', addr: b, run: berthctl('images', 'pull', '--progress=false', '--plain-http', '--no-unpack', ref), clean: rmImg('berthctl', b, ref) },
      { name: 'pull    ctr → berthd (no unpack)', via: 'ctr', addr: b, run: ctr(b, 'content', 'fetch', '--plain-http', ref), clean: rmImg('ctr', b, ref) },
      { name: 'pull    ctr → containerd (no unpack)', via: 'ctr', addr: c, run: ctr(c, 'content', 'fetch', '--plain-http', ref), clean: rmImg('ctr', c, ref) },
    ];
    /** Waits until the daemon's GC has removed every overlayfs snapshot (not timed). */
    const settle = async (addr: string): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const ls = execFileSync('ctr', ['--address', addr, 'snapshots', '--snapshotter', 'overlayfs', 'ls'], { encoding: 'utf8' });
        if (ls.trim().split('\n').length <= 1) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`snapshots left on ${addr} after rm --sync`);
    };
    const results = new Map<string, number[]>(cases.map((x) => [x.name, []]));
    for (let i = 0; i < runs + 1; i++) {
      for (const x of cases) {
        const ms = time(x.run[0], [...x.run[1]]);
        time(x.clean[0], [...x.clean[1]]);
        await settle(x.addr);
        if (i > 0) results.get(x.name)!.push(ms); // the first round warms caches
      }
    }
    const m = (n: string) => median(results.get(n)!);
    // peak resident memory of each daemon over the whole run (VmHWM)
    const peaks = { berthd: status(berthd.proc.pid, 'VmHWM'), containerd: status(containerd.proc.pid, 'VmHWM') };
    const size = fs.statSync(archive).size;
    const lines = [
      `image: busybox + ${layerMiB} MiB layer, archive ${(size / 2 ** 20).toFixed(1)} MiB; ${runs} runs each (after one warm-up), interleaved; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
      '',
      ...cases.map((x) => `${x.name.padEnd(40)} median ${m(x.name).toFixed(0).padStart(6)} ms   runs ${results.get(x.name)!.map((v) => v.toFixed(0)).join(' ')}`),
      '',
      `ratio containerd/berthd (>1: berthd faster)`,
      ...(['import', 'pull'] as const).flatMap((op) => {
        const k = (who: string, extra = '') => `${op.padEnd(7)} ${who}${extra}`;
        const r = (a: string, bb: string) => (m(a) / m(bb)).toFixed(2);
        return [
          `  ${op.padEnd(6)} with unpack, each daemon with its CLI   ${r(k('ctr → containerd'), k('berthctl → berthd'))}`,
          `  ${op.padEnd(6)} with unpack, ctr on both daemons        ${r(k('ctr → containerd'), k('ctr → berthd'))}`,
          `  ${op.padEnd(6)} unpack alone (with − without), ctr     ${((m(k('ctr → containerd')) - m(k('ctr → containerd', ' (no unpack)'))) / (m(k('ctr → berthd')) - m(k('ctr → berthd', ' (no unpack)')))).toFixed(2)}`,
          `  ${op.padEnd(6)} no unpack, each daemon with its CLI     ${r(k('ctr → containerd', ' (no unpack)'), k('berthctl → berthd', ' (no unpack)'))}`,
          `  ${op.padEnd(6)} no unpack, ctr on both daemons          ${r(k('ctr → containerd', ' (no unpack)'), k('ctr → berthd', ' (no unpack)'))}`,
        ];
      }),
      '',
      `peak RSS: berthd ${peaks.berthd.toFixed(0)} MiB, containerd ${peaks.containerd.toFixed(0)} MiB (idle after start: ${idle.berthd.toFixed(0)} and ${idle.containerd.toFixed(0)} MiB)`,
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
