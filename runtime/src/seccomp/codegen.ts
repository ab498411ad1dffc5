/**
 * Turns per-architecture syscall decisions into a cBPF program:
 *
 *   ld [arch]; jeq AUDIT_ARCH_a -> block a; jeq ... ; ret <bad-arch action>
 *   block: ld [nr]; binary search (jge) over the intervals of syscall numbers
 *          that share a decision; each leaf is a `ret` or the argument checks
 *          of one syscall.
 *
 * Adjacent numbers with the same unconditional decision (including the gaps,
 * which get the default action) collapse into one interval, so an allow-list
 * of ~350 syscalls costs a few dozen compares, and any syscall is decided in
 * about log2(intervals) jumps.
 */
import { Assembler, Label } from './assembler';
import { BPF, Insn } from './bpf';

export type CompareOp = 'NE' | 'LT' | 'LE' | 'EQ' | 'GE' | 'GT' | 'MASKED_EQ';

export interface Condition {
  arg: number;
  op: CompareOp;
  /** For MASKED_EQ the mask; otherwise the value compared with. */
  value: bigint;
  /** For MASKED_EQ the value the masked argument must equal. */
  valueTwo: bigint;
}

export interface ArgRule {
  conds: Condition[];
  action: number;
}

export type Decision =
  | { kind: 'ret'; action: number }
  /** Try the rules in order; the first whose conditions all hold gives its action, else `fallback`. */
  | { kind: 'args'; bits: 32 | 64; rules: ArgRule[]; fallback: number };

/** A closed interval [lo, hi] of syscall numbers (u32) with one decision. */
export interface Interval {
  lo: number;
  hi: number;
  decision: Decision;
}

export interface ArchBlock {
  auditArch: number;
  /** Intervals covering 0..0xffffffff without gaps or overlaps, sorted. */
  intervals: Interval[];
}

const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number): number => 16 + 8 * i;
const argHi = (i: number): number => 20 + 8 * i;
const LO = (v: bigint): number => Number(v & 0xffffffffn);
const HI = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);

function sameDecision(a: Decision, b: Decision): boolean {
  return a.kind === 'ret' && b.kind === 'ret' && a.action === b.action;
}

/** Merges neighbouring intervals with the same `ret` decision. */
export function coalesce(intervals: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const iv of intervals) {
    const last = out[out.length - 1];
    if (last && last.hi + 1 === iv.lo && sameDecision(last.decision, iv.decision)) last.hi = iv.hi;
    else out.push({ ...iv });
  }
  return out;
}

export function generateProgram(blocks: ArchBlock[], badArchAction: number): Insn[] {
  const asm = new Assembler();
  asm.load(OFF_ARCH);
  const entries: Label[] = blocks.map(() => asm.label());
  blocks.forEach((b, i) => {
    const next = asm.label();
    asm.jump(BPF.JEQ, b.auditArch, entries[i], next);
    asm.place(next);
  });
  asm.ret(badArchAction);
  blocks.forEach((b, i) => {
    asm.place(entries[i]);
    asm.load(OFF_NR);
    emitTree(asm, coalesce(b.intervals));
  });
  return asm.finish();
}

/** Emits the binary search over segs[from, to). */
function emitTree(asm: Assembler, segs: Interval[], from = 0, to = segs.length): void {
  if (to - from === 1) {
    emitDecision(asm, segs[from].decision);
    return;
  }
  const mid = (from + to) >> 1;
  const left = asm.label();
  const right = asm.label();
  // A still holds nr here: every leaf that loads an argument ends in `ret`.
  asm.jump(BPF.JGE, segs[mid].lo, right, left);
  asm.place(left);
  emitTree(asm, segs, from, mid);
  asm.place(right);
  emitTree(asm, segs, mid, to);
}

function emitDecision(asm: Assembler, d: Decision): void {
  if (d.kind === 'ret') {
    asm.ret(d.action);
    return;
  }
  for (const rule of d.rules) {
    const next = asm.label();
    for (const c of rule.conds) emitCondition(asm, c, d.bits, next);
    asm.ret(rule.action);
    asm.place(next);
  }
  asm.ret(d.fallback);
}

/**
 * Emits a check of one condition: falls through when it holds, jumps to
 * `fail` when it does not. On 64-bit ABIs the argument is compared as an
 * unsigned 64-bit number (high word first, then the low word when the high
 * words are equal); on 32-bit ABIs only the low words are compared, as
 * libseccomp does.
 */
function emitCondition(asm: Assembler, c: Condition, bits: 32 | 64, fail: Label): void {
  const pass = asm.label();
  const lo = argLo(c.arg);
  const hi = argHi(c.arg);
  const v = c.value;
  if (bits === 32) {
    asm.load(lo);
    switch (c.op) {
      case 'EQ': asm.jump(BPF.JEQ, LO(v), pass, fail); break;
      case 'NE': asm.jump(BPF.JEQ, LO(v), fail, pass); break;
      case 'GT': asm.jump(BPF.JGT, LO(v), pass, fail); break;
      case 'GE': asm.jump(BPF.JGE, LO(v), pass, fail); break;
      case 'LT': asm.jump(BPF.JGE, LO(v), fail, pass); break;
      case 'LE': asm.jump(BPF.JGT, LO(v), fail, pass); break;
      case 'MASKED_EQ':
        asm.and(LO(v));
        asm.jump(BPF.JEQ, LO(c.valueTwo & v), pass, fail);
        break;
    }
    asm.place(pass);
    return;
  }
  const checkLo = asm.label();
  switch (c.op) {
    case 'EQ':
      asm.load(hi);
      asm.jump(BPF.JEQ, HI(v), checkLo, fail);
      asm.place(checkLo);
      asm.load(lo);
      asm.jump(BPF.JEQ, LO(v), pass, fail);
      break;
    case 'NE':
      asm.load(hi);
      asm.jump(BPF.JEQ, HI(v), checkLo, pass);
      asm.place(checkLo);
      asm.load(lo);
      asm.jump(BPF.JEQ, LO(v), fail, pass);
      break;
    case 'GT':
    case 'GE':
    case 'LT':
    case 'LE': {
      // hi > vhi decides at once; hi == vhi defers to the low words; hi < vhi decides the other way.
      const greater = c.op === 'GT' || c.op === 'GE';
      asm.load(hi);
      const eqHi = asm.label();
      asm.jump(BPF.JGT, HI(v), greater ? pass : fail, eqHi);
      asm.place(eqHi);
      // After "not greater", a high word of 0 can only be equal: skip the compare.
      if (HI(v) !== 0) asm.jump(BPF.JEQ, HI(v), checkLo, greater ? fail : pass);
      asm.place(checkLo);
      asm.load(lo);
      if (c.op === 'GT') asm.jump(BPF.JGT, LO(v), pass, fail);
      else if (c.op === 'GE') asm.jump(BPF.JGE, LO(v), pass, fail);
      else if (c.op === 'LT') asm.jump(BPF.JGE, LO(v), fail, pass);
      else asm.jump(BPF.JGT, LO(v), fail, pass);
      break;
    }
    case 'MASKED_EQ': {
      // libseccomp compares (arg & mask) with (value & mask): bits outside the mask never count.
      const mask = v;
      const want = c.valueTwo & mask;
      if (HI(mask) !== 0) {
        asm.load(hi);
        asm.and(HI(mask));
        asm.jump(BPF.JEQ, HI(want), checkLo, fail);
      } else if (HI(want) !== 0) {
        // (hi & 0) can never equal a non-zero value.
        asm.ja(fail);
      }
      asm.place(checkLo);
      asm.load(lo);
      asm.and(LO(mask));
      asm.jump(BPF.JEQ, LO(want), pass, fail);
      break;
    }
  }
  asm.place(pass);
}
