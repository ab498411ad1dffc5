/**
 * A small cBPF assembler with symbolic labels. Classic BPF only jumps forward,
 * and a conditional jump reaches at most 255 instructions; a branch that lands
 * further away gets a trampoline right after the jump: a copy of the `ret` it
 * goes to (when the target is a return) or an unconditional `ja`, whose offset
 * is 32 bits. Layout is repeated until no branch needs a new trampoline.
 */
import { BPF, BPF_MAXINSNS, Insn, stmt } from './bpf';

export type Label = number;

type Item =
  | { t: 'insn'; insn: Insn }
  | { t: 'jmp'; code: number; k: number; jt: Label; jf: Label; farT: boolean; farF: boolean }
  | { t: 'ja'; target: Label }
  | { t: 'label'; id: Label };

export class Assembler {
  private items: Item[] = [];
  private nextLabel = 0;
  /** The `ret K` a label stands for, so trampolines can copy it. */
  private retOf = new Map<Label, number>();
  private sharedRets = new Map<number, Label>();

  label(): Label {
    return this.nextLabel++;
  }

  place(id: Label): void {
    this.items.push({ t: 'label', id });
  }

  insn(i: Insn): void {
    this.items.push({ t: 'insn', insn: i });
  }

  /** ld [offset]: a 32-bit word of struct seccomp_data. */
  load(offset: number): void {
    this.insn(stmt(BPF.LD | BPF.W | BPF.ABS, offset));
  }

  and(k: number): void {
    this.insn(stmt(BPF.ALU | BPF.AND | BPF.K, k));
  }

  /** A conditional jump (op = BPF.JEQ, JGT, JGE or JSET against the constant k). */
  jump(op: number, k: number, jt: Label, jf: Label): void {
    this.items.push({ t: 'jmp', code: BPF.JMP | op | BPF.K, k: k >>> 0, jt, jf, farT: false, farF: false });
  }

  ja(target: Label): void {
    this.items.push({ t: 'ja', target });
  }

  /** An inline `ret k` (also recorded so jumps to a label right before it may copy it). */
  ret(k: number): void {
    const l = this.label();
    this.retOf.set(l, k >>> 0);
    this.place(l);
    this.insn(stmt(BPF.RET | BPF.K, k));
  }

  /** A label for a `ret k` shared by every jump to it, emitted by finish(). */
  retLabel(k: number): Label {
    let l = this.sharedRets.get(k >>> 0);
    if (l === undefined) {
      l = this.label();
      this.sharedRets.set(k >>> 0, l);
      this.retOf.set(l, k >>> 0);
    }
    return l;
  }

  /** Lays the program out, adding trampolines for long jumps, and returns the instructions. */
  finish(): Insn[] {
    for (const [k, l] of this.sharedRets) {
      this.place(l);
      this.insn(stmt(BPF.RET | BPF.K, k));
    }
    this.sharedRets.clear();
    const items = this.items;
    // Labels are small consecutive integers: an array maps them to addresses (-1: never placed).
    const addr = new Int32Array(this.nextLabel).fill(-1);
    const sizeOf = (it: Item): number => (it.t === 'label' ? 0 : it.t === 'jmp' ? 1 + (it.farT ? 1 : 0) + (it.farF ? 1 : 0) : 1);
    for (let round = 0; ; round++) {
      if (round > 64) throw new Error('BPF layout did not converge');
      let pc = 0;
      for (const it of items) {
        if (it.t === 'label') addr[it.id] = pc;
        pc += sizeOf(it);
      }
      let changed = false;
      pc = 0;
      for (const it of items) {
        if (it.t === 'jmp') {
          const base = pc + 1;
          if (!it.farT && this.target(addr, it.jt) - base > 255) (it.farT = true), (changed = true);
          if (!it.farF && this.target(addr, it.jf) - base > 255) (it.farF = true), (changed = true);
        }
        pc += sizeOf(it);
      }
      if (!changed) break;
    }
    const out: Insn[] = [];
    for (const it of items) {
      if (it.t === 'label') continue;
      if (it.t === 'insn') {
        out.push(it.insn);
        continue;
      }
      const pc = out.length;
      if (it.t === 'ja') {
        const d = this.target(addr, it.target) - (pc + 1);
        if (d < 0) throw new Error('BPF jump backwards');
        out.push(stmt(BPF.JMP | BPF.JA, d));
        continue;
      }
      // Trampolines sit right after the jump: [jmp][T trampoline?][F trampoline?].
      const tT = pc + 1;
      const tF = pc + 1 + (it.farT ? 1 : 0);
      const jt = it.farT ? 0 : this.target(addr, it.jt) - (pc + 1);
      const jf = it.farF ? tF - (pc + 1) : this.target(addr, it.jf) - (pc + 1);
      if (jt < 0 || jf < 0 || jt > 255 || jf > 255) throw new Error('BPF conditional jump out of range');
      out.push({ code: it.code, jt, jf, k: it.k });
      if (it.farT) out.push(this.trampoline(addr, it.jt, tT));
      if (it.farF) out.push(this.trampoline(addr, it.jf, tF));
    }
    if (out.length > BPF_MAXINSNS) throw new Error(`seccomp filter needs ${out.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
    return out;
  }

  private target(addr: Int32Array, l: Label): number {
    const a = addr[l];
    if (a === undefined || a < 0) throw new Error(`BPF label ${l} was never placed`);
    return a;
  }

  private trampoline(addr: Int32Array, l: Label, at: number): Insn {
    const k = this.retOf.get(l);
    if (k !== undefined) return stmt(BPF.RET | BPF.K, k);
    return stmt(BPF.JMP | BPF.JA, this.target(addr, l) - (at + 1));
  }
}
