/**
 * The cgroup v2 device filter: an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE, generated here instruction by instruction with
 * the same sequence as runc's libcontainer/cgroups/ebpf/devicefilter (itself
 * from crun's ebpf.c), and encoded as struct bpf_insn for BPF_PROG_LOAD.
 *
 * The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
 * (access_type = type | access << 16) and returns 1 to allow, 0 to deny:
 *
 *   r2 = type, r3 = access, r4 = major, r5 = minor
 *   block-i:  if r2 != type goto block-i+1
 *             [if (r3 & access) != r3 goto block-i+1]   (skipped for "rwm")
 *             [if r4 != major goto block-i+1]           (skipped for "*")
 *             [if r5 != minor goto block-i+1]
 *             r0 = allow; exit
 *   block-n:  r0 = default; exit
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { DeviceEmulator } from './emulator';
import { type DeviceRule, WILDCARD, ruleString } from './rules';

/** The license string given to BPF_PROG_LOAD (runc's: "Apache", the kernel MODULE_LICENSE format). */
export const DEVICE_FILTER_LICENSE = 'Apache';

// include/uapi/linux/bpf.h and bpf_common.h
const BPF_LDX = 0x01;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_W = 0x00;
const BPF_MEM = 0x60;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_AND = 0x50;
const BPF_RSH = 0x70;
const BPF_MOV = 0xb0;
const BPF_JNE = 0x50;
const BPF_EXIT = 0x90;

export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;

/** One struct bpf_insn; `target` names a block for jumps until the offsets are resolved. */
export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  target?: number;
}

const ldxMemW = (dst: number, src: number, off: number): BpfInsn => ({ code: BPF_LDX | BPF_MEM | BPF_W, dst, src, off, imm: 0 });
const alu32Imm = (op: number, dst: number, imm: number): BpfInsn => ({ code: BPF_ALU | op | BPF_K, dst, src: 0, off: 0, imm });
const mov32Reg = (dst: number, src: number): BpfInsn => ({ code: BPF_ALU | BPF_MOV | BPF_X, dst, src, off: 0, imm: 0 });
const jneImm = (dst: number, imm: number, target: number): BpfInsn => ({ code: BPF_JMP | BPF_JNE | BPF_K, dst, src: 0, off: 0, imm, target });
const jneReg = (dst: number, src: number, target: number): BpfInsn => ({ code: BPF_JMP | BPF_JNE | BPF_X, dst, src, off: 0, imm: 0, target });
const exit = (): BpfInsn => ({ code: BPF_JMP | BPF_EXIT, dst: 0, src: 0, off: 0, imm: 0 });

export interface DeviceFilter {
  insns: BpfInsn[];
  /** Instruction index where each block starts (block-0 … block-n). */
  blocks: number[];
  defaultAllow: boolean;
  license: string;
}

/** Builds the program for a rule list (the container's rules plus the defaults). */
export function deviceFilter(rules: DeviceRule[]): DeviceFilter {
  // Reduce to a clean rule set first, so v2 behaves exactly like v1 (including
  // the refusal to punch holes in wildcard rules).
  const emu = DeviceEmulator.fromRules(rules);
  const clean = emu.cleanRules();
  const defaultAllow = emu.isBlacklist();

  const insns: BpfInsn[] = [
    ldxMemW(2, 1, 0), // r2 = access_type
    alu32Imm(BPF_AND, 2, 0xffff), // r2 &= 0xffff: the device type
    ldxMemW(3, 1, 0), // r3 = access_type
    alu32Imm(BPF_RSH, 3, 16), // r3 >>= 16: the access
    ldxMemW(4, 1, 4), // r4 = major
    ldxMemW(5, 1, 8), // r5 = minor
  ];
  const blocks: number[] = [];
  clean.forEach((rule, idx) => {
    if (rule.type === 'a') {
      // Only ever first, to set the default; the default is the final block.
      if (idx !== 0 || rule.allow !== defaultAllow) {
        throw new InvalidArgumentError(`[internal error] emulated cgroupv2 devices ruleset had bad wildcard at idx ${idx} (${ruleString(rule)})`);
      }
      return;
    }
    if (rule.allow === defaultAllow) {
      throw new InvalidArgumentError(`[internal error] emulated cgroupv2 devices ruleset had no-op rule at idx ${idx} (${ruleString(rule)})`);
    }
    const id = blocks.length;
    const next = id + 1;
    blocks.push(insns.length);
    insns.push(jneImm(2, rule.type === 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, next));
    let access = 0;
    for (const c of rule.permissions) {
      access |= c === 'r' ? BPF_DEVCG_ACC_READ : c === 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    }
    if (access !== (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
      insns.push(mov32Reg(1, 3), alu32Imm(BPF_AND, 1, access), jneReg(1, 3, next)); // (r3 & access) != r3 → next
    }
    // runc compares against int32(major): the immediate is signed.
    if (rule.major !== WILDCARD) insns.push(jneImm(4, rule.major | 0, next));
    if (rule.minor !== WILDCARD) insns.push(jneImm(5, rule.minor | 0, next));
    insns.push(alu32Imm(BPF_MOV, 0, rule.allow ? 1 : 0), exit());
  });
  blocks.push(insns.length);
  insns.push(alu32Imm(BPF_MOV, 0, defaultAllow ? 1 : 0), exit());

  // Resolve jump targets: off is relative to the next instruction.
  insns.forEach((insn, i) => {
    if (insn.target !== undefined) insn.off = blocks[insn.target] - (i + 1);
  });
  return { insns, blocks, defaultAllow, license: DEVICE_FILTER_LICENSE };
}

/** struct bpf_insn × n: u8 code, u8 dst:4|src:4 (little-endian bitfields), s16 off, s32 imm. */
export function encodeInsns(insns: BpfInsn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    b.writeUInt8(x.code, i * 8);
    b.writeUInt8(((x.src & 0xf) << 4) | (x.dst & 0xf), i * 8 + 1);
    b.writeInt16LE(x.off, i * 8 + 2);
    b.writeInt32LE(x.imm, i * 8 + 4);
  });
  return b;
}

/** A listing in cilium/ebpf's asm notation (what runc's devicefilter_test.go compares against). */
export function disassemble(f: DeviceFilter): string {
  const lines: string[] = [];
  f.insns.forEach((x, i) => {
    const block = f.blocks.indexOf(i);
    if (block >= 0) lines.push(`block-${block}:`);
    const target = x.target !== undefined ? ` <block-${x.target}>` : '';
    let text: string;
    switch (x.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        text = `LdXMemW dst: r${x.dst} src: r${x.src} off: ${x.off} imm: ${x.imm}`;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        text = `And32Imm dst: r${x.dst} imm: ${x.imm}`;
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        text = `RSh32Imm dst: r${x.dst} imm: ${x.imm}`;
        break;
      case BPF_ALU | BPF_MOV | BPF_K:
        text = `Mov32Imm dst: r${x.dst} imm: ${x.imm}`;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        text = `Mov32Reg dst: r${x.dst} src: r${x.src}`;
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        // cilium prints symbolic jumps with off -1 before linking.
        text = `JNEImm dst: r${x.dst} off: -1 imm: ${x.imm}${target}`;
        break;
      case BPF_JMP | BPF_JNE | BPF_X:
        text = `JNEReg dst: r${x.dst} off: -1 src: r${x.src}${target}`;
        break;
      case BPF_JMP | BPF_EXIT:
        text = 'Exit';
        break;
      default:
        text = `op ${x.code}`;
    }
    lines.push(`${i}: ${text}`);
  });
  return lines.join('\n');
}
