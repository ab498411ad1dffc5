import { ARCHES, ArchName, X32_SYSCALL_BIT } from './arch';
import { SECCOMP_RET, checkProgram, runProgram, describeAction } from './bpf';
import { SECCOMP_FILTER_FLAG, compileSeccomp, seccompDisabled } from './compile';
import { defaultSeccompProfile } from './default-profile';
import type { LinuxSeccomp } from '../spec/types';

const X86_64 = ARCHES.x86_64.auditArch;
const I386 = ARCHES.x86.auditArch;
const AARCH64 = ARCHES.aarch64.auditArch;
const ALLOW = SECCOMP_RET.ALLOW;
const errno = (e: number): number => (SECCOMP_RET.ERRNO | e) >>> 0;
const nr = (arch: ArchName, name: string): number => ARCHES[arch].syscalls[name];

function run(cfg: LinuxSeccomp, arch: number, sysno: number, args: (bigint | number)[] = [], opts = {}): string {
  return runOpts(cfg, arch, sysno, args, opts);
}

function runOpts(cfg: LinuxSeccomp, arch: number, sysno: number, args: (bigint | number)[], opts: { enosys?: boolean }): string {
  const c = compileSeccomp(cfg, { nativeArch: 'x86_64', ...opts });
  checkProgram(c.instructions);
  return describeAction(runProgram(c.instructions, { arch, nr: sysno, args }).ret);
}

describe('actions, flags and bad input', () => {
  const base = (action: string, errnoRet?: number): LinuxSeccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: '/run/agent.sock',
    syscalls: [{ names: ['mkdir'], action, errnoRet }],
  });
  test.each([
    ['SCMP_ACT_KILL', undefined, 'KILL_THREAD'],
    ['SCMP_ACT_KILL_THREAD', undefined, 'KILL_THREAD'],
    ['SCMP_ACT_KILL_PROCESS', undefined, 'KILL_PROCESS'],
    ['SCMP_ACT_TRAP', undefined, 'TRAP'],
    ['SCMP_ACT_ERRNO', undefined, 'ERRNO(1)'],
    ['SCMP_ACT_ERRNO', 13, 'ERRNO(13)'],
    ['SCMP_ACT_ERRNO', 0, 'ERRNO(0)'],
    ['SCMP_ACT_TRACE', undefined, 'TRACE(1)'],
    ['SCMP_ACT_TRACE', 42, 'TRACE(42)'],
    ['SCMP_ACT_LOG', undefined, 'LOG'],
    ['SCMP_ACT_NOTIFY', undefined, 'NOTIFY'],
  ])('%s (errnoRet %s) returns %s', (action, errnoRet, want) => {
    const cfg = base(action, errnoRet);
    expect(run(cfg, X86_64, nr('x86_64', 'mkdir'))).toBe(want);
    expect(run(cfg, X86_64, nr('x86_64', 'rmdir'))).toBe('ALLOW');
  });

  test('defaultErrnoRet sets the default action errno; EPERM without it', () => {
    expect(run({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 }, X86_64, 0)).toBe('ERRNO(38)');
    expect(run({ defaultAction: 'SCMP_ACT_ERRNO' }, X86_64, 0)).toBe('ERRNO(1)');
  });

  test('NOTIFY asks for a listener and SECCOMP_FILTER_FLAG_NEW_LISTENER', () => {
    const c = compileSeccomp(base('SCMP_ACT_NOTIFY'), { nativeArch: 'x86_64' });
    expect(c.needsListener).toBe(true);
    expect(c.flags).toBe(SECCOMP_FILTER_FLAG.NEW_LISTENER);
    const t = compileSeccomp({ ...base('SCMP_ACT_NOTIFY'), flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }, { nativeArch: 'x86_64' });
    expect(t.flags).toBe(SECCOMP_FILTER_FLAG.NEW_LISTENER | SECCOMP_FILTER_FLAG.TSYNC | SECCOMP_FILTER_FLAG.TSYNC_ESRCH);
    expect(compileSeccomp(base('SCMP_ACT_ERRNO'), { nativeArch: 'x86_64' }).needsListener).toBe(false);
  });

  test('profile flags map to seccomp(2) flags', () => {
    const c = compileSeccomp(
      { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] },
      { nativeArch: 'x86_64' },
    );
    expect(c.flags).toBe(SECCOMP_FILTER_FLAG.TSYNC | SECCOMP_FILTER_FLAG.LOG | SECCOMP_FILTER_FLAG.SPEC_ALLOW);
  });

  test.each([
    [{ defaultAction: 'SCMP_ACT_BOGUS' }, /SCMP_ACT_BOGUS is not a valid action/],
    [{ defaultAction: '' , syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }, /is not a valid action/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /cannot be used as default action/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] }, /cannot be used for the write syscall/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_SOMETIMES' }] }, /SCMP_ACT_SOMETIMES is not a valid action/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ABOUT' }] }] }, /SCMP_CMP_ABOUT is not a valid operator/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /argument index 6 is out of range/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] }, /not an unsigned integer/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }] }, /too large to be exact/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [''], action: 'SCMP_ACT_ERRNO' }] }, /empty string is not a valid syscall/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 70000 }] }, /70000 is not an errno value/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, /SCMP_ARCH_VAX is not a valid arch/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_S390X'] }, /SCMP_ARCH_S390X is not supported by berth/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FAST'] }, /SECCOMP_FILTER_FLAG_FAST.*is not supported/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, /needs a SCMP_ACT_NOTIFY rule/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: 'read', action: 'SCMP_ACT_ERRNO' }] }, /syscalls\[0\].names must be a list/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, /syscalls must be a list/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: 'SECCOMP_FILTER_FLAG_LOG' }, /flags must be a list/],
  ])('refuses %j', (cfg, msg) => {
    expect(() => compileSeccomp(cfg as LinuxSeccomp, { nativeArch: 'x86_64' })).toThrow(msg);
    try {
      compileSeccomp(cfg as LinuxSeccomp, { nativeArch: 'x86_64' });
    } catch (err) {
      expect((err as { kind?: string }).kind).toBe('InvalidArgument');
    }
  });

  test('64-bit values may be given as BigInt', () => {
    const cfg = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0xffff_ffff_ffff_fff0n as unknown as number, op: 'SCMP_CMP_GE' }] }] };
    expect(run(cfg, X86_64, 0, [0xffff_ffff_ffff_fff1n])).toBe('ERRNO(1)');
    expect(run(cfg, X86_64, 0, [0xffff_ffff_ffff_ffefn])).toBe('ALLOW');
  });

  test('unknown syscalls are ignored like runc; rules equal to the default are dropped', () => {
    const c = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          { names: ['read', 'no_such_syscall'], action: 'SCMP_ACT_ALLOW' },
          { names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        ],
      },
      { nativeArch: 'x86_64' },
    );
    expect(c.ignoredSyscalls).toEqual(['no_such_syscall']);
    expect(describeAction(runProgram(c.instructions, { arch: X86_64, nr: 0 }).ret)).toBe('ALLOW');
    expect(describeAction(runProgram(c.instructions, { arch: X86_64, nr: 1 }).ret)).toBe('ERRNO(1)');
  });

  test('seccompDisabled follows runc: neither default action nor syscalls', () => {
    expect(seccompDisabled(undefined)).toBe(true);
    expect(seccompDisabled({ defaultAction: '' })).toBe(true);
    expect(seccompDisabled({ defaultAction: 'SCMP_ACT_ALLOW' })).toBe(false);
  });
});

/** The reference meaning of a condition: unsigned 64-bit, or the low 32 bits on 32-bit ABIs. */
function holds(op: string, arg: bigint, value: bigint, valueTwo: bigint, bits: 32 | 64): boolean {
  const m = bits === 64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn;
  const a = arg & m;
  const v = value & m;
  switch (op) {
    case 'SCMP_CMP_NE': return a !== v;
    case 'SCMP_CMP_LT': return a < v;
    case 'SCMP_CMP_LE': return a <= v;
    case 'SCMP_CMP_EQ': return a === v;
    case 'SCMP_CMP_GE': return a >= v;
    case 'SCMP_CMP_GT': return a > v;
    case 'SCMP_CMP_MASKED_EQ': return (a & v) === (valueTwo & v & m);
  }
  throw new Error(op);
}

describe('argument comparisons', () => {
  const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
  const VALUES = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x1_00000000n, 0x1_00000001n, 0x1_ffffffffn, 0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_ffffn];
  const ARGS = [...VALUES, 2n, 0x1_7fffffffn, 0x2_00000000n, 0xdead_beef_0000_0001n];
  test.each(OPS)('%s on every boundary value, 64-bit (x86_64) and 32-bit (i386, x32) ABIs', (op) => {
    let checked = 0;
    for (const value of VALUES) {
      for (const valueTwo of op === 'SCMP_CMP_MASKED_EQ' ? [0n, 1n, 0x1_00000001n, 0xffffffffn] : [0n]) {
        const cfg: LinuxSeccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
          syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 3, value: value as unknown as number, valueTwo: valueTwo as unknown as number, op }] }],
        };
        const c = compileSeccomp(cfg, { nativeArch: 'x86_64' });
        checkProgram(c.instructions);
        for (const arg of ARGS) {
          for (const [arch, audit, bits] of [['x86_64', X86_64, 64], ['x86', I386, 32], ['x32', X86_64, 32]] as const) {
            const got = runProgram(c.instructions, { arch: audit, nr: nr(arch, 'mkdir'), args: [0n, 0n, 0n, arg] }).ret;
            const want = holds(op, arg, value, valueTwo, bits) ? errno(1) : ALLOW;
            if (got !== want) throw new Error(`${op} ${value} (${valueTwo}) on ${arch} with arg ${arg}: got ${describeAction(got)}`);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(400);
  });

  test('several conditions on one rule are ANDed; several rules are ORed', () => {
    const cfg: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] },
        { names: ['mkdir'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: 3, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const m = nr('x86_64', 'mkdir');
    expect(run(cfg, X86_64, m, [1, 2, 0])).toBe('ALLOW');
    expect(run(cfg, X86_64, m, [1, 0, 0])).toBe('ERRNO(1)');
    expect(run(cfg, X86_64, m, [0, 2, 0])).toBe('ERRNO(1)');
    expect(run(cfg, X86_64, m, [0, 0, 3])).toBe('ALLOW');
    expect(run(cfg, X86_64, m, [1, 0, 3])).toBe('ALLOW');
  });

  test('two conditions on the same argument become separate rules (OR), as runc does', () => {
    const cfg: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }, { index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }],
    };
    const p = nr('x86_64', 'personality');
    expect(run(cfg, X86_64, p, [0])).toBe('ALLOW');
    expect(run(cfg, X86_64, p, [8])).toBe('ALLOW');
    expect(run(cfg, X86_64, p, [9])).toBe('ERRNO(1)');
  });

  test('an unconditional rule beats conditional ones for the same syscall, as in libseccomp', () => {
    const cfg: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['mkdir'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 },
      ],
    };
    expect(run(cfg, X86_64, nr('x86_64', 'mkdir'), [1])).toBe('ERRNO(2)');
  });
});

describe('architectures', () => {
  const cfg = (arches: string[]): LinuxSeccomp => ({ defaultAction: 'SCMP_ACT_ERRNO', architectures: arches, syscalls: [{ names: ['mkdir', 'socket'], action: 'SCMP_ACT_ALLOW' }] });
  // Without runc's -ENOSYS stub, which is tested on its own below.
  const run = (c: LinuxSeccomp, arch: number, sysno: number, args: (bigint | number)[] = []): string => runOpts(c, arch, sysno, args, { enosys: false });

  test('an ABI outside the filter is killed (libseccomp bad-arch action)', () => {
    expect(run(cfg([]), AARCH64, 34)).toBe('KILL_THREAD');
    expect(run(cfg([]), I386, nr('x86', 'mkdir'))).toBe('KILL_THREAD');
    expect(run(cfg(['SCMP_ARCH_X86']), I386, nr('x86', 'mkdir'))).toBe('ALLOW');
  });

  test('x32 syscalls are a bad arch unless SCMP_ARCH_X32 is in the filter; nr -1 gets the default', () => {
    const x32mkdir = nr('x32', 'mkdir');
    expect(x32mkdir & X32_SYSCALL_BIT).toBeTruthy();
    expect(run(cfg([]), X86_64, x32mkdir)).toBe('KILL_THREAD');
    expect(run(cfg([]), X86_64, 0xffffffff)).toBe('ERRNO(1)');
    expect(run(cfg(['SCMP_ARCH_X32']), X86_64, x32mkdir)).toBe('ALLOW');
    expect(run(cfg(['SCMP_ARCH_X32']), X86_64, X32_SYSCALL_BIT + 3000)).toBe('ERRNO(1)');
  });

  test('i386 socket calls also match through socketcall(2) with the sub-call in arg0', () => {
    const c = cfg(['SCMP_ARCH_X86']);
    expect(run(c, I386, nr('x86', 'socket'))).toBe('ALLOW');
    expect(run(c, I386, nr('x86', 'socketcall'), [1])).toBe('ALLOW');
    expect(run(c, I386, nr('x86', 'socketcall'), [3])).toBe('ERRNO(1)');
  });

  test('aarch64 and arm as native / compat', () => {
    const c = compileSeccomp(cfg(['SCMP_ARCH_ARM']), { nativeArch: 'aarch64', enosys: false });
    checkProgram(c.instructions);
    expect(describeAction(runProgram(c.instructions, { arch: AARCH64, nr: nr('aarch64', 'mkdirat') }).ret)).toBe('ERRNO(1)');
    expect(describeAction(runProgram(c.instructions, { arch: ARCHES.arm.auditArch, nr: nr('arm', 'mkdir') }).ret)).toBe('ALLOW');
    expect(describeAction(runProgram(c.instructions, { arch: X86_64, nr: 0 }).ret)).toBe('KILL_THREAD');
  });
});

describe('runc -ENOSYS stub', () => {
  const cfg: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['read', 'write', 'clone3'], action: 'SCMP_ACT_ALLOW' }],
  };
  test('syscalls above the highest named one get ENOSYS, others the default', () => {
    const last = nr('x86_64', 'clone3');
    expect(run(cfg, X86_64, last)).toBe('ALLOW');
    expect(run(cfg, X86_64, last - 1)).toBe('ERRNO(1)');
    expect(run(cfg, X86_64, last + 1)).toBe('ERRNO(38)');
    expect(run(cfg, X86_64, nr('x32', 'clone3') + 1)).toBe('ERRNO(38)');
    expect(run(cfg, X86_64, nr('x32', 'clone3') - 1)).toBe('ERRNO(1)');
    expect(run(cfg, I386, nr('x86', 'clone3') + 1)).toBe('ERRNO(38)');
    expect(run(cfg, I386, 0xffffffff)).toBe('ERRNO(38)');
  });
  test('not with an allow-like default, nor when turned off, nor for unlisted ABIs', () => {
    expect(run({ ...cfg, defaultAction: 'SCMP_ACT_LOG' }, X86_64, 1000)).toBe('LOG');
    expect(run(cfg, X86_64, 1000, [], { enosys: false })).toBe('ERRNO(1)');
    expect(run({ ...cfg, architectures: [] }, X86_64, 1000)).toBe('ERRNO(1)');
  });
});

describe('program shape', () => {
  test("Docker's default profile: well-formed, compact, a handful of jumps per syscall", () => {
    const c = compileSeccomp(defaultSeccompProfile({ arch: 'x86_64' }), { nativeArch: 'x86_64' });
    checkProgram(c.instructions);
    expect(c.instructions.length).toBeLessThan(800);
    let worst = 0;
    let total = 0;
    for (let n = 0; n < 600; n++) {
      const steps = runProgram(c.instructions, { arch: X86_64, nr: n }).steps;
      worst = Math.max(worst, steps);
      total += steps;
    }
    // Binary search: about log2(intervals) compares, not one per rule (the worst is personality's five rules).
    expect(total / 600).toBeLessThan(12);
    expect(worst).toBeLessThan(40);
  });

  test('long programs get trampolines and stay correct', () => {
    // One conditional rule per syscall: hundreds of argument checks push jumps past 255.
    const names = Object.keys(ARCHES.x86_64.syscalls).slice(0, 300);
    const cfg: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: names.map((n, i) => ({ names: [n], action: 'SCMP_ACT_ALLOW', args: [{ index: i % 6, value: i, op: 'SCMP_CMP_EQ' }] })),
    };
    const c = compileSeccomp(cfg, { nativeArch: 'x86_64' });
    checkProgram(c.instructions);
    expect(c.instructions.length).toBeGreaterThan(1000);
    names.forEach((n, i) => {
      const args = [0, 0, 0, 0, 0, 0];
      args[i % 6] = i;
      expect(describeAction(runProgram(c.instructions, { arch: X86_64, nr: nr('x86_64', n), args }).ret)).toBe('ALLOW');
      args[i % 6] = i + 1;
      expect(describeAction(runProgram(c.instructions, { arch: X86_64, nr: nr('x86_64', n), args }).ret)).toBe('ERRNO(1)');
    });
  });
});
