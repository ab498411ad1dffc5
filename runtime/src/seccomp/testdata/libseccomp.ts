/**
 * The reference implementation for tests and benchmarks: libseccomp itself,
 * driven the way runc drives it (libcontainer/seccomp/seccomp_linux.go), via
 * the small C program libseccomp-export.c, compiled on first use with `cc`
 * against libseccomp-dev. Not used by the runtime.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHES, ArchName } from '../arch';
import { BPF, Insn } from '../bpf';
import { SECCOMP_OPERATORS, actionValue } from '../compile';
import type { LinuxSeccomp } from '../../spec/types';

/** libseccomp's SCMP_ARCH_* tokens (seccomp.h); SCMP_ARCH_X32 is a fake AUDIT_ARCH without the 64-bit bit. */
export const SCMP_ARCH_TOKEN: Record<ArchName, number> = {
  x86_64: 0xc000003e,
  x86: 0x40000003,
  x32: 0x4000003e,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
};

const OP_NUMBER: Record<string, number> = { NE: 1, LT: 2, LE: 3, EQ: 4, GE: 5, GT: 6, MASKED_EQ: 7 };

const ARCH_BY_OCI: Record<string, ArchName> = {
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_ARM: 'arm',
};

/** Why the reference cannot run here, or null when it can. */
export function libseccompMissing(): string | null {
  if (!existsSync('/usr/include/seccomp.h')) return 'libseccomp-dev is not installed (no /usr/include/seccomp.h)';
  if (spawnSync('cc', ['--version']).status !== 0) return 'no C compiler (cc)';
  return null;
}

/** The C source, next to this file (or found from the repository root when this module is bundled). */
function exporterSource(): string {
  const candidates = [join(__dirname, 'libseccomp-export.c'), join(process.cwd(), 'runtime/src/seccomp/testdata/libseccomp-export.c')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`libseccomp-export.c not found (looked in ${candidates.join(', ')})`);
  return found;
}

export class LibseccompReference {
  private readonly dir: string;
  readonly binary: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'berth-libseccomp-'));
    this.binary = join(this.dir, 'libseccomp-export');
    execFileSync('cc', ['-O2', '-Wall', '-o', this.binary, exporterSource(), '-lseccomp'], { stdio: 'pipe' });
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The exporter's input for a profile, following runc's InitSeccomp step by step. */
  script(cfg: LinuxSeccomp, opts: { optimize?: number } = {}): string {
    const def = actionValue(cfg.defaultAction, cfg.defaultErrnoRet);
    const lines = [`default ${def}`];
    for (const a of cfg.architectures ?? []) lines.push(`arch ${SCMP_ARCH_TOKEN[ARCH_BY_OCI[a]]}`);
    if (opts.optimize) lines.push(`optimize ${opts.optimize}`);
    for (const g of cfg.syscalls ?? []) {
      const act = actionValue(g.action, g.errnoRet);
      if (act === def) continue;
      const conds = (g.args ?? []).map((a) => `${a.index} ${OP_NUMBER[SECCOMP_OPERATORS[a.op]]} ${BigInt(a.value)} ${BigInt(a.valueTwo ?? 0)}`);
      const counts = new Map<number, number>();
      for (const a of g.args ?? []) counts.set(a.index, (counts.get(a.index) ?? 0) + 1);
      const split = [...counts.values()].some((n) => n > 1);
      for (const name of g.names) {
        if (split) for (const c of conds) lines.push(`rule ${act} ${name} 1 ${c}`);
        else lines.push(`rule ${act} ${name} ${conds.length} ${conds.join(' ')}`.trimEnd());
      }
    }
    lines.push('export');
    return lines.join('\n') + '\n';
  }

  /** libseccomp's BPF for the profile (native arch = this machine's). Throws with libseccomp's error. */
  export(cfg: LinuxSeccomp, opts: { optimize?: number } = {}): Buffer {
    const r = spawnSync(this.binary, [], { input: this.script(cfg, opts), maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`libseccomp: ${r.stderr.toString().trim()}`);
    return r.stdout;
  }

  /** Times libseccomp building and exporting the profile `runs` times (in-process, no spawn cost); ns per run. */
  bench(cfg: LinuxSeccomp, runs: number, opts: { optimize?: number } = {}): number[] {
    const out = execFileSync(this.binary, ['bench', String(runs)], { input: this.script(cfg, opts), encoding: 'utf8' });
    return out.trim().split('\n').map(Number);
  }

  /** seccomp_syscall_resolve_name_arch for many names at once (negative = pseudo/unknown). */
  resolve(arch: ArchName, names: string[]): Map<string, number> {
    const input = names.map((n) => `${SCMP_ARCH_TOKEN[arch]} ${n}`).join('\n') + '\n';
    const out = execFileSync(this.binary, ['resolve'], { input, encoding: 'utf8', maxBuffer: 16 << 20 }).trim().split('\n');
    return new Map(names.map((n, i) => [n, Number(out[i])]));
  }
}

const AUDIT_ARCHES = new Set(Object.values(ARCHES).map((a) => a.auditArch));

/**
 * Instructions of a libseccomp-made program that compare an accumulator whose
 * contents depend on the path taken (libseccomp 2.5.4 sometimes skips a load
 * because it believes A already holds the word it needs): a forward dataflow
 * of "which word of seccomp_data (and mask) does A hold". A conditional jump
 * reached with two different contents, or comparing the arch word with
 * something that is not an AUDIT_ARCH value, is unsound; the tests skip the
 * inputs whose run passes through one.
 */
export function unsoundJumps(p: Insn[]): Set<number> {
  const sources: Set<string>[] = p.map(() => new Set<string>());
  sources[0].add('none');
  const bad = new Set<number>();
  for (let pc = 0; pc < p.length; pc++) {
    const i = p[pc];
    const incoming = sources[pc];
    let out: Set<string>;
    if (i.code === (BPF.LD | BPF.W | BPF.ABS)) out = new Set([`d${i.k}`]);
    else if (i.code === (BPF.ALU | BPF.AND | BPF.K)) out = new Set([...incoming].map((s) => `${s}&${i.k}`));
    else out = incoming;
    if ((i.code & 0x07) === BPF.JMP) {
      const conditional = (i.code & 0xf0) !== BPF.JA;
      if (conditional && (incoming.size > 1 || (incoming.has('d4') && !AUDIT_ARCHES.has(i.k)))) bad.add(pc);
      const targets = conditional ? [pc + 1 + i.jt, pc + 1 + i.jf] : [pc + 1 + i.k];
      for (const t of targets) for (const src of out) sources[t].add(src);
    } else if ((i.code & 0x07) !== BPF.RET) {
      for (const src of out) sources[pc + 1].add(src);
    }
  }
  return bad;
}
