import { BPF, SECCOMP_RET, checkProgram, decodeProgram, describeAction, disassemble, encodeProgram, jump, runProgram, stmt } from './bpf';

const ld = (k: number) => stmt(BPF.LD | BPF.W | BPF.ABS, k);
const ret = (k: number) => stmt(BPF.RET | BPF.K, k);

describe('checkProgram refuses what the kernel refuses', () => {
  test.each([
    ['an empty program', [], /0 instructions/],
    ['a program not ending in RET', [ld(0)], /does not end in RET/],
    ['an unaligned load', [ld(2), ret(0)], /outside struct seccomp_data or unaligned/],
    ['a load past seccomp_data', [ld(64), ret(0)], /outside struct seccomp_data/],
    ['a byte load', [stmt(BPF.LD | BPF.B | BPF.ABS, 0), ret(0)], /not allowed in seccomp/],
    ['a jump out of the program', [jump(BPF.JMP | BPF.JEQ, 1, 5, 0), ret(0)], /leaves the program/],
    ['a ja out of the program', [stmt(BPF.JMP | BPF.JA, 1), ret(0)], /leaves the program/],
    ['a division by zero', [stmt(BPF.ALU | BPF.DIV | BPF.K, 0), ret(0)], /division by zero/],
    ['scratch memory read before write', [stmt(BPF.LD | BPF.MEM, 3), ret(0)], /read before it is written/],
    ['too many instructions', Array.from({ length: 4097 }, () => ret(0)), /4097 instructions/],
  ])('%s', (_name, prog, msg) => {
    expect(() => checkProgram(prog)).toThrow(msg);
  });

  test('a store on one path only does not make the read valid', () => {
    const prog = [ld(0), jump(BPF.JMP | BPF.JEQ, 1, 0, 1), stmt(BPF.ST, 2), stmt(BPF.LD | BPF.MEM, 2), ret(0)];
    expect(() => checkProgram(prog)).toThrow(/read before it is written/);
  });
});

describe('runProgram', () => {
  test('loads nr, arch and 64-bit argument halves little-endian', () => {
    const data = { nr: 7, arch: 0xc000003e, args: [0x1122334455667788n] };
    expect(runProgram([ld(0), stmt(BPF.RET | BPF.A, 0)], data).ret).toBe(7);
    expect(runProgram([ld(4), stmt(BPF.RET | BPF.A, 0)], data).ret).toBe(0xc000003e);
    expect(runProgram([ld(16), stmt(BPF.RET | BPF.A, 0)], data).ret).toBe(0x55667788);
    expect(runProgram([ld(20), stmt(BPF.RET | BPF.A, 0)], data).ret).toBe(0x11223344);
  });

  test('ALU, X register, scratch memory and jumps', () => {
    const prog = [
      ld(16), // A = 10
      stmt(BPF.ALU | BPF.MUL | BPF.K, 3), // 30
      stmt(BPF.ST, 0),
      stmt(BPF.LDX | BPF.IMM, 4),
      stmt(BPF.ALU | BPF.SUB | BPF.X, 0), // 26
      stmt(BPF.ALU | BPF.AND | BPF.K, 0xfe), // 26
      jump(BPF.JMP | BPF.JSET, 0x10, 0, 1),
      stmt(BPF.LD | BPF.MEM, 0), // 30
      stmt(BPF.MISC | BPF.TAX, 0),
      stmt(BPF.MISC | BPF.TXA, 0),
      stmt(BPF.RET | BPF.A, 0),
    ];
    checkProgram(prog);
    expect(runProgram(prog, { nr: 0, arch: 0, args: [10] }).ret).toBe(30);
  });

  test('encode/decode round-trip and a readable disassembly', () => {
    const prog = [ld(4), jump(BPF.JMP | BPF.JEQ, 0xc000003e, 0, 1), ret(SECCOMP_RET.ALLOW), ret((SECCOMP_RET.ERRNO | 1) >>> 0)];
    const bytes = encodeProgram(prog);
    expect(bytes.length).toBe(32);
    expect(decodeProgram(bytes)).toEqual(prog);
    expect(disassemble(prog)).toBe(['0000: ld $data[4]', '0001: jeq 0xc000003e true:0002 false:0003', '0002: ret ALLOW', '0003: ret ERRNO(1)'].join('\n'));
    expect(describeAction(SECCOMP_RET.KILL_PROCESS)).toBe('KILL_PROCESS');
  });
});
