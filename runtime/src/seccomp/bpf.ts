/**
 * Classic BPF as seccomp uses it (linux/filter.h, linux/bpf_common.h,
 * Documentation/userspace-api/seccomp_filter.rst): the instruction encoding, a
 * checker with the kernel's rules (bpf_check_classic + seccomp_check_filter),
 * an interpreter over a synthetic struct seccomp_data, and a disassembler.
 *
 * The interpreter is how the compiler is tested: run the program for a given
 * (arch, nr, args) and compare the returned action with what the profile says.
 */

/** One struct sock_filter: { u16 code; u8 jt; u8 jf; u32 k; }. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

// Instruction classes and fields (linux/bpf_common.h).
export const BPF = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  MSH: 0xa0,
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  K: 0x00,
  X: 0x08,
  A: 0x10,
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** BPF_MAXINSNS: the kernel refuses longer programs. */
export const BPF_MAXINSNS = 4096;
/** BPF_MEMWORDS: scratch memory slots. */
const BPF_MEMWORDS = 16;
/** sizeof(struct seccomp_data). */
export const SECCOMP_DATA_SIZE = 64;

// Seccomp return values (linux/seccomp.h).
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
  ACTION_FULL: 0xffff0000,
  DATA: 0x0000ffff,
} as const;

export const stmt = (code: number, k: number): Insn => ({ code, jt: 0, jf: 0, k: k >>> 0 });
export const jump = (code: number, k: number, jt: number, jf: number): Insn => ({ code, jt, jf, k: k >>> 0 });

/** Serialises instructions as the kernel reads them (struct sock_filter[], little-endian host). */
export function encodeProgram(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  let o = 0;
  for (const i of insns) {
    const k = i.k >>> 0;
    buf[o] = i.code & 0xff;
    buf[o + 1] = i.code >>> 8;
    buf[o + 2] = i.jt;
    buf[o + 3] = i.jf;
    buf[o + 4] = k & 0xff;
    buf[o + 5] = (k >>> 8) & 0xff;
    buf[o + 6] = (k >>> 16) & 0xff;
    buf[o + 7] = k >>> 24;
    o += 8;
  }
  return buf;
}

export function decodeProgram(buf: Buffer): Insn[] {
  if (buf.length % 8 !== 0) throw new Error(`BPF program of ${buf.length} bytes is not a whole number of instructions`);
  const out: Insn[] = [];
  for (let o = 0; o < buf.length; o += 8) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}

const cls = (code: number): number => code & 0x07;
const size = (code: number): number => code & 0x18;
const mode = (code: number): number => code & 0xe0;
const op = (code: number): number => code & 0xf0;
const src = (code: number): number => code & 0x08;
const rval = (code: number): number => code & 0x18;

/**
 * Checks a program as the kernel does before accepting it for seccomp: length,
 * known opcodes (the seccomp subset), jumps inside the program, loads only of
 * aligned words inside struct seccomp_data, scratch memory read only after a
 * write on every path, no division by a constant zero, and a RET at the end.
 * Throws with the offending instruction's index.
 */
export function checkProgram(insns: readonly Insn[]): void {
  const n = insns.length;
  if (n === 0 || n > BPF_MAXINSNS) throw new Error(`BPF program has ${n} instructions (1..${BPF_MAXINSNS} allowed)`);
  const bad = (pc: number, why: string): never => {
    throw new Error(`BPF instruction ${pc} (code 0x${insns[pc].code.toString(16)}): ${why}`);
  };
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc];
    switch (cls(i.code)) {
      case BPF.LD:
      case BPF.LDX:
        if (i.code === (BPF.LD | BPF.W | BPF.ABS)) {
          if (i.k & 3 || i.k >= SECCOMP_DATA_SIZE) bad(pc, `load of offset ${i.k} outside struct seccomp_data or unaligned`);
        } else if (i.code === (BPF.LD | BPF.W | BPF.LEN) || i.code === (BPF.LDX | BPF.W | BPF.LEN)) {
          // Replaced by the kernel with an immediate sizeof(struct seccomp_data).
        } else if (i.code === (BPF.LD | BPF.IMM) || i.code === (BPF.LDX | BPF.IMM)) {
          // fine
        } else if (i.code === (BPF.LD | BPF.MEM) || i.code === (BPF.LDX | BPF.MEM)) {
          if (i.k >= BPF_MEMWORDS) bad(pc, 'scratch memory index out of range');
        } else bad(pc, 'load mode not allowed in seccomp');
        break;
      case BPF.ST:
      case BPF.STX:
        if (i.code !== BPF.ST && i.code !== BPF.STX) bad(pc, 'bad store');
        if (i.k >= BPF_MEMWORDS) bad(pc, 'scratch memory index out of range');
        break;
      case BPF.ALU: {
        const o = op(i.code);
        if (![BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.OR, BPF.AND, BPF.LSH, BPF.RSH, BPF.NEG, BPF.MOD, BPF.XOR].includes(o as never))
          bad(pc, 'unknown ALU operation');
        if ((o === BPF.DIV || o === BPF.MOD) && src(i.code) === BPF.K && i.k === 0) bad(pc, 'division by zero');
        if ((o === BPF.LSH || o === BPF.RSH) && src(i.code) === BPF.K && i.k >= 32) bad(pc, 'shift too large');
        break;
      }
      case BPF.JMP: {
        const o = op(i.code);
        if (o === BPF.JA) {
          if (i.k >= n - pc - 1) bad(pc, `jump of ${i.k} leaves the program`);
        } else if ([BPF.JEQ, BPF.JGT, BPF.JGE, BPF.JSET].includes(o as never)) {
          if (pc + 1 + i.jt >= n || pc + 1 + i.jf >= n) bad(pc, 'conditional jump leaves the program');
        } else bad(pc, 'unknown jump');
        break;
      }
      case BPF.RET:
        if (i.code !== (BPF.RET | BPF.K) && i.code !== (BPF.RET | BPF.A)) bad(pc, 'bad return');
        break;
      case BPF.MISC:
        if (i.code !== (BPF.MISC | BPF.TAX) && i.code !== (BPF.MISC | BPF.TXA)) bad(pc, 'bad misc');
        break;
    }
  }
  if (cls(insns[n - 1].code) !== BPF.RET) bad(n - 1, 'the program does not end in RET');
  // Scratch memory must be written before it is read, on every path (check_load_and_stores).
  const valid: number[] = new Array(n).fill(0xffff);
  let cur = 0;
  for (let pc = 0; pc < n; pc++) {
    cur &= valid[pc];
    const i = insns[pc];
    if (i.code === BPF.ST || i.code === BPF.STX) cur |= 1 << i.k;
    else if (i.code === (BPF.LD | BPF.MEM) || i.code === (BPF.LDX | BPF.MEM)) {
      if (!(cur & (1 << i.k))) bad(pc, `scratch memory ${i.k} read before it is written`);
    } else if (cls(i.code) === BPF.JMP) {
      if (op(i.code) === BPF.JA) {
        valid[pc + 1 + i.k] &= cur;
        cur = 0xffff;
      } else {
        valid[pc + 1 + i.jt] &= cur;
        valid[pc + 1 + i.jf] &= cur;
        cur = 0xffff;
      }
    } else if (cls(i.code) === BPF.RET) cur = 0xffff;
  }
}

/** A synthetic struct seccomp_data. */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six arguments, as unsigned 64-bit values (missing ones are 0). */
  args?: readonly (bigint | number)[];
}

export function encodeSeccompData(d: SeccompData): Buffer {
  const b = Buffer.alloc(SECCOMP_DATA_SIZE);
  b.writeUInt32LE(d.nr >>> 0, 0);
  b.writeUInt32LE(d.arch >>> 0, 4);
  b.writeBigUInt64LE(BigInt.asUintN(64, d.instructionPointer ?? 0n), 8);
  for (let i = 0; i < 6; i++) b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(d.args?.[i] ?? 0)), 16 + 8 * i);
  return b;
}

/** Result of running a program: the 32-bit return value and how many instructions ran. */
export interface RunResult {
  ret: number;
  steps: number;
}

/**
 * Runs a checked program over a seccomp_data, as the kernel's interpreter
 * would (little-endian loads). Call checkProgram first: this assumes a
 * well-formed program and throws only on what a check cannot rule out.
 */
export function runProgram(insns: readonly Insn[], data: SeccompData | Buffer, onStep?: (pc: number) => void): RunResult {
  const mem = Buffer.isBuffer(data) ? data : encodeSeccompData(data);
  const M = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  for (;;) {
    const i = insns[pc];
    if (!i) throw new Error(`BPF program ran off its end at ${pc}`);
    onStep?.(pc);
    steps++;
    pc++;
    switch (cls(i.code)) {
      case BPF.LD:
      case BPF.LDX: {
        let v: number;
        switch (mode(i.code)) {
          case BPF.ABS:
            if (size(i.code) !== BPF.W) throw new Error('only word loads are allowed');
            v = mem.readUInt32LE(i.k);
            break;
          case BPF.LEN:
            v = SECCOMP_DATA_SIZE;
            break;
          case BPF.IMM:
            v = i.k;
            break;
          case BPF.MEM:
            v = M[i.k];
            break;
          default:
            throw new Error(`unsupported load 0x${i.code.toString(16)}`);
        }
        if (cls(i.code) === BPF.LD) A = v >>> 0;
        else X = v >>> 0;
        break;
      }
      case BPF.ST:
        M[i.k] = A;
        break;
      case BPF.STX:
        M[i.k] = X;
        break;
      case BPF.ALU: {
        const b = src(i.code) === BPF.X ? X : i.k;
        switch (op(i.code)) {
          case BPF.ADD: A = (A + b) >>> 0; break;
          case BPF.SUB: A = (A - b) >>> 0; break;
          case BPF.MUL: A = Number((BigInt(A) * BigInt(b)) & 0xffffffffn); break;
          case BPF.DIV: A = b === 0 ? 0 : Math.floor(A / b) >>> 0; break;
          case BPF.MOD: A = b === 0 ? 0 : (A % b) >>> 0; break;
          case BPF.OR: A = (A | b) >>> 0; break;
          case BPF.AND: A = (A & b) >>> 0; break;
          case BPF.XOR: A = (A ^ b) >>> 0; break;
          case BPF.LSH: A = b >= 32 ? 0 : (A << b) >>> 0; break;
          case BPF.RSH: A = b >= 32 ? 0 : A >>> b; break;
          case BPF.NEG: A = -A >>> 0; break;
        }
        // A division by a zero X makes the kernel return 0 from the filter.
        if ((op(i.code) === BPF.DIV || op(i.code) === BPF.MOD) && b === 0) return { ret: 0, steps };
        break;
      }
      case BPF.JMP: {
        if (op(i.code) === BPF.JA) {
          pc += i.k;
          break;
        }
        const b = (src(i.code) === BPF.X ? X : i.k) >>> 0;
        let cond: boolean;
        switch (op(i.code)) {
          case BPF.JEQ: cond = A === b; break;
          case BPF.JGT: cond = A > b; break;
          case BPF.JGE: cond = A >= b; break;
          case BPF.JSET: cond = (A & b) !== 0; break;
          default: throw new Error(`unsupported jump 0x${i.code.toString(16)}`);
        }
        pc += cond ? i.jt : i.jf;
        break;
      }
      case BPF.RET:
        return { ret: (rval(i.code) === BPF.A ? A : i.k) >>> 0, steps };
      case BPF.MISC:
        if (i.code === (BPF.MISC | BPF.TAX)) X = A;
        else A = X;
        break;
    }
  }
}

const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

/** Names a seccomp return value: "ALLOW", "ERRNO(1)", "TRACE(7)", "KILL_THREAD". */
export function describeAction(ret: number): string {
  const action = (ret & SECCOMP_RET.ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET.DATA;
  switch (action) {
    case SECCOMP_RET.KILL_PROCESS: return 'KILL_PROCESS';
    case SECCOMP_RET.KILL_THREAD: return 'KILL_THREAD';
    case SECCOMP_RET.TRAP: return 'TRAP';
    case SECCOMP_RET.ERRNO: return `ERRNO(${data})`;
    case SECCOMP_RET.USER_NOTIF: return 'NOTIFY';
    case SECCOMP_RET.TRACE: return `TRACE(${data})`;
    case SECCOMP_RET.LOG: return 'LOG';
    case SECCOMP_RET.ALLOW: return 'ALLOW';
    default: return hex(ret);
  }
}

/** One line per instruction, in the style of libseccomp's scmp_bpf_disasm. */
export function disassemble(insns: readonly Insn[]): string {
  return insns
    .map((i, pc) => {
      const at = String(pc).padStart(4, '0');
      let text: string;
      switch (cls(i.code)) {
        case BPF.LD:
        case BPF.LDX: {
          const reg = cls(i.code) === BPF.LD ? 'ld' : 'ldx';
          const m = mode(i.code);
          text = m === BPF.ABS ? `${reg} $data[${i.k}]` : m === BPF.MEM ? `${reg} M[${i.k}]` : m === BPF.LEN ? `${reg} #len` : `${reg} #${hex(i.k)}`;
          break;
        }
        case BPF.ST: text = `st M[${i.k}]`; break;
        case BPF.STX: text = `stx M[${i.k}]`; break;
        case BPF.ALU: {
          const names: Record<number, string> = { 0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh', 0x80: 'neg', 0x90: 'mod', 0xa0: 'xor' };
          text = `${names[op(i.code)] ?? 'alu?'} ${src(i.code) === BPF.X ? 'X' : hex(i.k)}`;
          break;
        }
        case BPF.JMP: {
          if (op(i.code) === BPF.JA) {
            text = `ja ${String(pc + 1 + i.k).padStart(4, '0')}`;
            break;
          }
          const names: Record<number, string> = { 0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset' };
          const t = String(pc + 1 + i.jt).padStart(4, '0');
          const f = String(pc + 1 + i.jf).padStart(4, '0');
          text = `${names[op(i.code)] ?? 'j?'} ${src(i.code) === BPF.X ? 'X' : hex(i.k)} true:${t} false:${f}`;
          break;
        }
        case BPF.RET: text = rval(i.code) === BPF.A ? 'ret A' : `ret ${describeAction(i.k)}`; break;
        default: text = i.code === (BPF.MISC | BPF.TAX) ? 'tax' : 'txa';
      }
      return `${at}: ${text}`;
    })
    .join('\n');
}
