/**
 * berth's seccomp compiler beside libseccomp 2.5 (driven as runc drives it)
 * on the same profiles, in one run:
 *
 * - compile time: median of RUNS builds (berth: compileSeccomp in this
 *   process, warm; libseccomp: rule adds + seccomp_export_bpf in a C loop, so
 *   no process start is counted on either side). berth's cold time is also
 *   shown: the first compile in a fresh Node process (what `create` pays, the
 *   module already loaded), median of 10 processes;
 * - program size in instructions (libseccomp's default priority layout and
 *   its binary-tree layout, SCMP_FLTATR_CTL_OPTIMIZE=2);
 * - what the kernel pays on every syscall: BPF instructions executed, mean and
 *   worst over every syscall number of the native ABI (counted by the interpreter).
 *
 * Run: bench/seccomp/run.sh [RUNS]   (default 30)
 */
import { execFileSync } from 'node:child_process';
import { ARCHES } from '../../runtime/src/seccomp/arch';
import { Insn, checkProgram, decodeProgram, runProgram } from '../../runtime/src/seccomp/bpf';
import { compileSeccomp } from '../../runtime/src/seccomp/compile';
import { defaultSeccompProfile } from '../../runtime/src/seccomp/default-profile';
import { LibseccompReference, libseccompMissing } from '../../runtime/src/seccomp/testdata/libseccomp';
import type { LinuxSeccomp } from '../../runtime/src/spec/types';

const cold = process.argv[2] === '--cold';
const runs = cold ? 1 : Math.max(10, Number(process.argv[2] ?? 30));
const PROFILES: [string, LinuxSeccomp][] = [
  ['docker default (no caps)', defaultSeccompProfile({ arch: 'x86_64' })],
  ['docker default (CAP_SYS_ADMIN)', defaultSeccompProfile({ arch: 'x86_64', capabilities: ['CAP_SYS_ADMIN'] })],
  ['docker default, x86_64 only', { ...defaultSeccompProfile({ arch: 'x86_64' }), architectures: ['SCMP_ARCH_X86_64'] }],
];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function stepsPerSyscall(p: Insn[]): { mean: number; worst: number } {
  const audit = ARCHES.x86_64.auditArch;
  const last = Math.max(...Object.values(ARCHES.x86_64.syscalls));
  let total = 0;
  let worst = 0;
  for (let nr = 0; nr <= last; nr++) {
    // Arguments that pass the conditional rules (personality 0, clone without namespace flags).
    const s = runProgram(p, { arch: audit, nr, args: [0, 0, 0, 0, 0, 0] }).steps;
    total += s;
    worst = Math.max(worst, s);
  }
  return { mean: total / (last + 1), worst };
}

function timeBerth(cfg: LinuxSeccomp): number {
  for (let i = 0; i < 5; i++) compileSeccomp(cfg); // warm up the JIT
  const ns: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    compileSeccomp(cfg);
    ns.push(Number(process.hrtime.bigint() - t0));
  }
  return median(ns);
}

/** Times the first compile of profile `i` in a new process (this script, re-run with --cold i). */
function timeCold(i: number): number {
  const ns: number[] = [];
  for (let k = 0; k < 10; k++) ns.push(Number(execFileSync(process.execPath, [process.argv[1], '--cold', String(i)], { encoding: 'utf8' }).trim()));
  return median(ns);
}

function main(): void {
  if (cold) {
    const cfg = PROFILES[Number(process.argv[3])][1];
    const t0 = process.hrtime.bigint();
    compileSeccomp(cfg);
    console.log(Number(process.hrtime.bigint() - t0));
    return;
  }
  const missing = libseccompMissing();
  if (missing) {
    console.error(`bench/seccomp: ${missing}`);
    process.exit(1);
  }
  const ref = new LibseccompReference();
  const rows: string[][] = [];
  try {
    for (const [i, [name, cfg]] of PROFILES.entries()) {
      const mine = compileSeccomp(cfg, { enosys: false });
      // libseccomp gets only the names both sides know, so the rule sets are the same.
      const known: LinuxSeccomp = { ...cfg, syscalls: (cfg.syscalls ?? []).map((g) => ({ ...g, names: g.names.filter((n) => !mine.ignoredSyscalls.includes(n)) })) };
      const theirs = decodeProgram(ref.export(known));
      const theirsTree = decodeProgram(ref.export(known, { optimize: 2 }));
      checkProgram(mine.instructions);
      checkProgram(theirs);
      const rules = (known.syscalls ?? []).reduce((n, g) => n + g.names.length, 0);
      const tBerth = timeBerth(cfg);
      const tCold = timeCold(i);
      const tLib = median(ref.bench(known, runs));
      const tLibTree = median(ref.bench(known, runs, { optimize: 2 }));
      const sMine = stepsPerSyscall(mine.instructions);
      const sTheirs = stepsPerSyscall(theirs);
      const sTree = stepsPerSyscall(theirsTree);
      rows.push([
        name,
        String(rules),
        `${(tCold / 1e6).toFixed(2)} ms`,
        `${(tBerth / 1e6).toFixed(2)} ms`,
        `${(tLib / 1e6).toFixed(2)} ms`,
        `${(tLibTree / 1e6).toFixed(2)} ms`,
        (tBerth / tLib).toFixed(2),
        `${mine.instructions.length} / ${theirs.length} / ${theirsTree.length}`,
        `${sMine.mean.toFixed(1)} / ${sTheirs.mean.toFixed(1)} / ${sTree.mean.toFixed(1)}`,
        `${sMine.worst} / ${sTheirs.worst} / ${sTree.worst}`,
      ]);
    }
  } finally {
    ref.close();
  }
  const head = ['profile', 'rules', 'berth cold', 'berth warm', 'libseccomp', 'libseccomp tree', 'warm ratio', 'insns berth/lib/tree', 'steps mean b/l/t', 'steps worst b/l/t'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`seccomp compile, median of ${runs} runs (x86_64 host; filters cover x86_64, i386, x32 unless noted)`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

main();
