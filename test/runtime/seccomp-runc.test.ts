/**
 * berth's filter against the one the real runc loads, for the same profile:
 * `runc create` a busybox container (runc's init loads the filter before it
 * waits on the exec fifo when noNewPrivileges is set, as `runc spec` sets it),
 * read the filter the kernel holds for that process with
 * ptrace(PTRACE_SECCOMP_GET_FILTER) (testdata/seccomp-dump.c), and run both
 * programs in the interpreter on every syscall of every ABI. This covers
 * runc's own -ENOSYS stub, which the libseccomp differential does not.
 *
 * Needs root, runc, cc and busybox-static.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHES, ArchName } from '../../runtime/src/seccomp/arch';
import { Insn, checkProgram, decodeProgram, describeAction, runProgram } from '../../runtime/src/seccomp/bpf';
import { compileSeccomp } from '../../runtime/src/seccomp/compile';
import { defaultSeccompProfile } from '../../runtime/src/seccomp/default-profile';
import { unsoundJumps } from '../../runtime/src/seccomp/testdata/libseccomp';
import type { LinuxSeccomp } from '../../runtime/src/spec/types';

const BUSYBOX = '/bin/busybox';
const SOURCE = join(__dirname, '../../runtime/src/seccomp/testdata/seccomp-dump.c');

function missing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('runc', ['--version']).status !== 0) return 'no runc';
  if (spawnSync('cc', ['--version']).status !== 0) return 'no cc';
  if (!existsSync(BUSYBOX)) return 'no busybox-static';
  if (process.arch !== 'x64') return 'x86_64 only';
  return null;
}
const why = missing();
const d = why ? describe.skip : describe;

/** The filter runc loads for `profile`, read back from the kernel. */
function runcFilter(work: string, dump: string, id: string, profile: LinuxSeccomp): Insn[] {
  const bundle = join(work, id);
  const state = join(work, 'runc-state');
  mkdirSync(join(bundle, 'rootfs/bin'), { recursive: true });
  copyFileSync(BUSYBOX, join(bundle, 'rootfs/bin/busybox'));
  execFileSync('runc', ['spec'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['/bin/busybox', 'true'];
  spec.linux.seccomp = profile;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  try {
    execFileSync('runc', ['--root', state, 'create', '--bundle', bundle, id], { stdio: 'ignore', timeout: 30000 });
    const { pid } = JSON.parse(execFileSync('runc', ['--root', state, 'state', id], { encoding: 'utf8' }));
    return decodeProgram(execFileSync(dump, [String(pid)], { maxBuffer: 1 << 20 }));
  } finally {
    spawnSync('runc', ['--root', state, 'delete', '-f', id], { stdio: 'ignore', timeout: 30000 });
    rmSync(bundle, { recursive: true, force: true });
  }
}

function compare(theirs: Insn[], profile: LinuxSeccomp, enosys = true): { compared: number; skipped: number } {
  const mine = compileSeccomp(profile, { nativeArch: 'x86_64', enosys });
  checkProgram(mine.instructions);
  checkProgram(theirs);
  const unsound = unsoundJumps(theirs);
  let compared = 0;
  let skipped = 0;
  for (const arch of ['x86_64', 'x86', 'x32'] as ArchName[]) {
    const audit = ARCHES[arch].auditArch;
    const base = arch === 'x32' ? 0x40000000 : 0;
    const nrs = [0xffffffff, 0x3fffffff, 0x7fffffff];
    for (let n = base; n < base + 600; n++) nrs.push(n);
    for (const nr of nrs) {
      for (const a0 of [0n, 1n, 8n, 17n, 40n, 0x20008n, 0x7e020000n, 0x10000n | 17n, 0xffffffffn, 0x1_00000000n]) {
        const probe = { arch: audit, nr, args: [a0, a0, 0n, 0n, 0n, 0n] };
        let hitsBug = false;
        const b = runProgram(theirs, probe, (pc) => (hitsBug ||= unsound.has(pc))).ret;
        if (hitsBug) {
          skipped++;
          continue;
        }
        const a = runProgram(mine.instructions, probe).ret;
        if (a !== b) throw new Error(`berth ${describeAction(a)} != runc ${describeAction(b)} for ${arch} nr ${nr} (0x${nr.toString(16)}) arg0 ${a0}`);
        compared++;
      }
    }
  }
  return { compared, skipped };
}

/** Only the names berth's tables know (libseccomp's may be newer), so both sides see the same rules. */
function known(profile: LinuxSeccomp): LinuxSeccomp {
  const ignored = new Set(compileSeccomp(profile, { nativeArch: 'x86_64' }).ignoredSyscalls);
  return { ...profile, syscalls: (profile.syscalls ?? []).map((g) => ({ ...g, names: g.names.filter((n) => !ignored.has(n)) })).filter((g) => g.names.length) };
}

d(why ? `berth's filter equals runc's — skipped: ${why}` : "berth's filter equals runc's", () => {
  let work: string;
  let dump: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'berth-seccomp-runc-'));
    dump = join(work, 'seccomp-dump');
    execFileSync('cc', ['-O2', '-Wall', '-o', dump, SOURCE], { stdio: 'pipe' });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const profiles: [string, LinuxSeccomp][] = [
    ["Docker's default", defaultSeccompProfile({ arch: 'x86_64' })],
    ["Docker's default with CAP_SYS_ADMIN", defaultSeccompProfile({ arch: 'x86_64', capabilities: ['CAP_SYS_ADMIN'] })],
    [
      'conditions, errnoRet, KILL and TRAP, x86_64 only',
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 13,
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [
          { names: ['read', 'write', 'exit_group', 'openat', 'close', 'futex', 'execve', 'mmap', 'fcntl', 'rt_sigaction', 'getpid'], action: 'SCMP_ACT_ALLOW' },
          { names: ['mkdir'], action: 'SCMP_ACT_KILL' },
          { names: ['kill'], action: 'SCMP_ACT_TRAP' },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_LE' }] },
          { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
          { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97, args: [{ index: 0, value: 40, op: 'SCMP_CMP_EQ' }] },
          { names: ['socket'], action: 'SCMP_ACT_ALLOW' },
          { names: ['no_such_syscall'], action: 'SCMP_ACT_ALLOW' },
        ],
      },
    ],
  ];

  test.each(profiles)('%s', (name, profile) => {
    const cfg = known(profile);
    const theirs = runcFilter(work, dump, `berth-seccomp-${profiles.findIndex((p) => p[0] === name)}-${process.pid}`, cfg);
    const { compared, skipped } = compare(theirs, cfg);
    expect(compared).toBeGreaterThan(15000);
    expect(skipped).toBeLessThan(compared / 10);
    // The comparison can fail: without runc's -ENOSYS stub berth's filter differs from runc's.
    expect(() => compare(theirs, cfg, false)).toThrow(/ERRNO\(\d+\) != runc ERRNO\(38\)/);
  });
});
