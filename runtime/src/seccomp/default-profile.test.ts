import { existsSync, readFileSync } from 'node:fs';
import { ARCHES } from './arch';
import { checkProgram, describeAction, runProgram } from './bpf';
import { compileSeccomp } from './compile';
import { defaultSeccompProfile } from './default-profile';

const X86_64 = ARCHES.x86_64.auditArch;
const nr = (name: string): number => ARCHES.x86_64.syscalls[name];

function decide(caps: string[], name: string, args: (number | bigint)[] = []): string {
  const c = compileSeccomp(defaultSeccompProfile({ capabilities: caps, arch: 'x86_64' }), { nativeArch: 'x86_64' });
  checkProgram(c.instructions);
  return describeAction(runProgram(c.instructions, { arch: X86_64, nr: nr(name), args }).ret);
}

describe("Docker's default profile", () => {
  test('is an allow-list with ERRNO(EPERM) default over x86_64, x86 and x32', () => {
    const p = defaultSeccompProfile({ arch: 'x86_64' });
    expect(p.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.defaultErrnoRet).toBe(1);
    expect(p.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(defaultSeccompProfile({ arch: 'aarch64' }).architectures).toEqual(['SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64']);
    const allowed = p.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names);
    expect(allowed.length).toBeGreaterThan(300);
    expect(new Set(allowed).size).toBe(allowed.length);
  });

  test.each(['read', 'write', 'openat', 'execve', 'futex', 'epoll_pwait', 'io_uring_setup', 'ptrace'])('allows %s', (name) => {
    expect(decide([], name)).toBe('ALLOW');
  });

  test.each(['mount', 'umount2', 'unshare', 'setns', 'bpf', 'keyctl', 'add_key', 'kexec_load', 'reboot', 'init_module', 'swapon', 'chroot', 'open_by_handle_at', 'perf_event_open', 'iopl', 'settimeofday'])(
    'refuses %s without capabilities',
    (name) => {
      expect(decide([], name)).toBe('ERRNO(1)');
    },
  );

  test.each([
    ['CAP_SYS_ADMIN', ['mount', 'umount2', 'unshare', 'setns', 'bpf', 'sethostname', 'clone3']],
    ['CAP_SYS_BOOT', ['reboot']],
    ['CAP_SYS_CHROOT', ['chroot']],
    ['CAP_SYS_MODULE', ['init_module', 'finit_module', 'delete_module']],
    ['CAP_SYS_PTRACE', ['process_vm_readv', 'kcmp', 'pidfd_getfd']],
    ['CAP_SYS_RAWIO', ['iopl', 'ioperm']],
    ['CAP_SYS_TIME', ['settimeofday', 'clock_settime']],
    ['CAP_DAC_READ_SEARCH', ['open_by_handle_at']],
    ['CAP_BPF', ['bpf']],
    ['CAP_PERFMON', ['perf_event_open']],
    ['CAP_SYSLOG', ['syslog']],
  ])('%s opens its group', (cap, names) => {
    for (const n of names) expect([n, decide([cap], n)]).toEqual([n, 'ALLOW']);
  });

  test('keyctl stays refused even with every capability', () => {
    expect(decide(['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_BOOT'], 'keyctl')).toBe('ERRNO(1)');
  });

  test('clone without namespace flags only, unless CAP_SYS_ADMIN', () => {
    const SIGCHLD = 17;
    expect(decide([], 'clone', [SIGCHLD])).toBe('ALLOW');
    expect(decide([], 'clone', [0x003d0f00])).toBe('ALLOW'); // pthread_create's flags
    for (const ns of [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]) {
      expect(decide([], 'clone', [SIGCHLD | ns])).toBe('ERRNO(1)');
      expect(decide(['CAP_SYS_ADMIN'], 'clone', [SIGCHLD | ns])).toBe('ALLOW');
    }
  });

  test('clone3 fails with ENOSYS without CAP_SYS_ADMIN, so libc falls back to clone', () => {
    expect(decide([], 'clone3')).toBe('ERRNO(38)');
  });

  test('socket for every family but AF_VSOCK', () => {
    expect(decide([], 'socket', [1])).toBe('ALLOW');
    expect(decide([], 'socket', [2])).toBe('ALLOW');
    expect(decide([], 'socket', [40])).toBe('ERRNO(1)');
  });

  test('personality only for the harmless personas', () => {
    for (const p of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect(decide([], 'personality', [p])).toBe('ALLOW');
    for (const p of [0x0040000 /* ADDR_NO_RANDOMIZE */, 1, 0x100000000]) expect(decide([], 'personality', [p])).toBe('ERRNO(1)');
  });

  test('ptrace only from kernel 4.8 on; architecture groups follow the arch', () => {
    const old = defaultSeccompProfile({ arch: 'x86_64', kernel: [4, 4] });
    expect(old.syscalls!.some((s) => s.names.includes('ptrace'))).toBe(false);
    const x86 = defaultSeccompProfile({ arch: 'x86_64' }).syscalls!.flatMap((s) => s.names);
    expect(x86).toContain('arch_prctl');
    expect(x86).not.toContain('cacheflush');
    const arm = defaultSeccompProfile({ arch: 'aarch64' }).syscalls!.flatMap((s) => s.names);
    expect(arm).toContain('cacheflush');
    expect(arm).not.toContain('arch_prctl');
  });
});

// containerd 1.6's copy of Docker's profile, where the machine has its source: the same names must be
// allowed, group by group (berth adds the AF_VSOCK condition on socket(2) and names newer than 1.6).
const CONTAINERD_PROFILE = '/usr/share/gocode/src/github.com/containerd/containerd/contrib/seccomp/seccomp_default.go';
(existsSync(CONTAINERD_PROFILE) ? describe : describe.skip)("the same groups as containerd's default profile", () => {
  const src = existsSync(CONTAINERD_PROFILE) ? readFileSync(CONTAINERD_PROFILE, 'utf8') : '';
  const blocks = [...src.matchAll(/((?:case [^\n]*\n[^N]*)?)Names:\s*\[\]string\{([^}]*)\}/g)].map((m) => ({
    cases: [...m[1].matchAll(/"([^"]+)"/g)].map((c) => c[1]),
    names: [...m[2].matchAll(/"([^"]+)"/g)].map((n) => n[1]),
  }));
  const ours = (caps: string[]) =>
    new Set(
      defaultSeccompProfile({ capabilities: caps, arch: 'x86_64' })
        .syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args)
        .flatMap((s) => s.names),
    );

  test('the main allow-list', () => {
    const main = blocks[0].names;
    expect(main.length).toBeGreaterThan(300);
    const mine = ours([]);
    expect(main.filter((n) => !mine.has(n) && n !== 'socket')).toEqual([]);
    // What berth allows beyond containerd 1.6 is only newer syscalls.
    const extra = [...mine].filter((n) => !main.includes(n) && !blocks.some((b) => b.names.includes(n)));
    expect(extra.sort()).toEqual(['cachestat', 'fchmodat2', 'futex_requeue', 'futex_wait', 'futex_wake', 'map_shadow_stack']);
  });

  test('each capability group', () => {
    const capBlocks = blocks.filter((b) => b.cases.some((c) => c.startsWith('CAP_')));
    expect(capBlocks.length).toBeGreaterThan(10);
    const none = ours([]);
    for (const b of capBlocks) {
      const withCap = ours(b.cases);
      for (const n of b.names) expect([b.cases[0], n, withCap.has(n)]).toEqual([b.cases[0], n, true]);
      // Without the capability the group stays closed (unless the name is allowed anyway, like ptrace).
      for (const n of b.names) if (!blocks[0].names.includes(n) && n !== 'ptrace') expect([n, none.has(n)]).toEqual([n, false]);
    }
  });
});
