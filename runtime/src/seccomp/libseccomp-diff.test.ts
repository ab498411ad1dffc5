/**
 * Differential tests against libseccomp: the same profile goes through berth's
 * compiler and through libseccomp as runc drives it (testdata/libseccomp.ts),
 * and both BPF programs run in the interpreter on many inputs; the actions
 * must agree. Needs cc and libseccomp-dev (scripts/setup.sh installs them).
 *
 * libseccomp 2.5.4 has code-generation bugs that these tests step around
 * rather than copy: it sometimes leaves out a load because it believes the
 * accumulator already holds the word it needs (e.g. an i386 block whose first
 * syscall is reached through socketcall/ipc compares the arch word with syscall
 * numbers; a rule tree whose conditions share an argument compares a stale
 * low word). unsoundJumps() finds those instructions by dataflow; inputs whose
 * run passes through one are counted and skipped, and the tests bound how many.
 */
import { ArchName, ARCHES, syscallNumber } from './arch';
import { checkProgram, decodeProgram, describeAction, runProgram } from './bpf';
import { compileSeccomp } from './compile';
import { defaultSeccompProfile } from './default-profile';
import { LibseccompReference, libseccompMissing, unsoundJumps } from './testdata/libseccomp';
import type { LinuxSeccomp, LinuxSyscall } from '../spec/types';

const missing = libseccompMissing();
const d = missing ? describe.skip : describe;
const title = missing ? `libseccomp differential — skipped: ${missing}` : 'libseccomp differential';

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Probe {
  arch: number;
  nr: number;
  args: bigint[];
}

function compare(ref: LibseccompReference, cfg: LinuxSeccomp, probes: Probe[]): { compared: number; skipped: number } {
  const mine = compileSeccomp(cfg, { nativeArch: 'x86_64', enosys: false });
  checkProgram(mine.instructions);
  // Names our tables do not know are dropped on both sides (libseccomp's own tables may be newer).
  const known: LinuxSeccomp = {
    ...cfg,
    syscalls: (cfg.syscalls ?? []).map((g) => ({ ...g, names: g.names.filter((n) => !mine.ignoredSyscalls.includes(n)) })).filter((g) => g.names.length > 0),
  };
  const theirs = decodeProgram(ref.export(known));
  checkProgram(theirs);
  const unsound = unsoundJumps(theirs);
  let compared = 0;
  let skipped = 0;
  for (const p of probes) {
    let hitsBug = false;
    const b = runProgram(theirs, p, (pc) => (hitsBug ||= unsound.has(pc))).ret;
    if (hitsBug) {
      skipped++;
      continue;
    }
    const a = runProgram(mine.instructions, p).ret;
    if (a !== b) {
      throw new Error(
        `berth ${describeAction(a)} != libseccomp ${describeAction(b)} for arch 0x${p.arch.toString(16)} nr ${p.nr} args [${p.args.join(', ')}]\nprofile: ${JSON.stringify(cfg)}`,
      );
    }
    compared++;
  }
  return { compared, skipped };
}

const ACTIONS = [
  { action: 'SCMP_ACT_ALLOW' },
  { action: 'SCMP_ACT_ERRNO' },
  { action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
  { action: 'SCMP_ACT_KILL' },
  { action: 'SCMP_ACT_KILL_PROCESS' },
  { action: 'SCMP_ACT_TRAP' },
  { action: 'SCMP_ACT_TRACE', errnoRet: 7 },
  { action: 'SCMP_ACT_LOG' },
  { action: 'SCMP_ACT_NOTIFY' },
];
const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
// Values around the 32-bit boundary and small ones, where hi/lo comparisons go wrong first.
const VALUES = [0, 1, 2, 7, 40, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000, 0x100000001, 0x1ffffffff, 0x7e020000, 2 ** 52 + 3];
const NAMES = ['mkdir', 'mkdirat', 'read', 'write', 'openat', 'personality', 'clone', 'socket', 'connect', 'semop', 'shmget', 'ioctl', 'mmap', 'kill', 'getpid', 'epoll_ctl_old', 'arch_prctl', 'sendmsg', 'cacheflush', 'set_tls', 'sync_file_range2'];

/**
 * A random profile. With `conflicts` false, all conditional rules of one
 * syscall share an action (unconditional rules may differ): that is the space
 * where libseccomp's answer does not depend on its rule-tree internals.
 */
function randomProfile(r: () => number, arches: string[], conflicts: boolean): LinuxSeccomp {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  // NOTIFY cannot be the default action (runc refuses it).
  const def = pick(ACTIONS.filter((a) => a.action !== 'SCMP_ACT_NOTIFY'));
  const syscalls: LinuxSyscall[] = [];
  const assigned = new Map<string, string>();
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const act = pick(ACTIONS);
    const key = `${act.action}/${act.errnoRet ?? ''}`;
    const nargs = r() < 0.3 ? 0 : 1 + Math.floor(r() * 2);
    // NOTIFY is refused on write(2) (runc: the runtime itself must write after loading the filter).
    const names0 = act.action === 'SCMP_ACT_NOTIFY' ? NAMES.filter((x) => x !== 'write') : NAMES;
    const candidates = nargs === 0 || conflicts ? names0 : names0.filter((x) => (assigned.get(x) ?? key) === key);
    if (candidates.length === 0) continue;
    const names = [...new Set([pick(candidates), ...(r() < 0.3 ? [pick(candidates)] : [])])];
    const args = [];
    const used = new Set<number>();
    for (let j = 0; j < nargs; j++) {
      const index = Math.floor(r() * 3);
      // Mostly distinct arguments (AND); sometimes a repeat (runc's split into OR rules).
      if (used.has(index) && r() < 0.7) continue;
      used.add(index);
      const op = pick(OPS);
      args.push({ index, op, value: pick(VALUES), valueTwo: op === 'SCMP_CMP_MASKED_EQ' ? pick(VALUES) : 0 });
    }
    if (args.length > 0) for (const x of names) assigned.set(x, key);
    syscalls.push({ names, ...act, ...(args.length ? { args } : {}) });
  }
  return { defaultAction: def.action, defaultErrnoRet: def.errnoRet, architectures: arches, listenerPath: '/run/seccomp-agent.sock', syscalls };
}

function probesFor(cfg: LinuxSeccomp, arches: ArchName[]): Probe[] {
  const probes: Probe[] = [];
  const argValues = [0n, 1n, 2n, 6n, 7n, 8n, 39n, 40n, 41n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1fffffffen, 0x1ffffffffn, 0x7e020000n, 0x10000n, 2n ** 52n + 3n, 2n ** 64n - 1n];
  const names = new Set((cfg.syscalls ?? []).flatMap((g) => g.names).concat(['socketcall', 'ipc', 'exit']));
  for (const arch of arches) {
    const nrs = new Set<number>([0xffffffff, 0x40000000, 0x3fffffff, 1000]);
    for (const n of names) {
      const nr = syscallNumber(arch, n);
      if (nr !== undefined) nrs.add(nr);
    }
    for (const nr of nrs) {
      for (const a0 of argValues) for (const a1 of [0n, 1n, 0xffffffffn, 0x100000001n]) probes.push({ arch: ARCHES[arch].auditArch, nr, args: [a0, a1, a0 ^ a1] });
    }
  }
  // Another ABI altogether: the bad-arch action.
  probes.push({ arch: ARCHES.aarch64.auditArch, nr: 1, args: [] });
  return probes;
}

d(title, () => {
  let ref: LibseccompReference;
  beforeAll(() => {
    ref = new LibseccompReference();
  });
  afterAll(() => ref?.close());

  test('syscall tables agree with libseccomp for every name both know', () => {
    let checked = 0;
    for (const arch of Object.keys(ARCHES) as ArchName[]) {
      const names = Object.keys(ARCHES[arch].syscalls);
      const theirs = ref.resolve(arch, names);
      for (const name of names) {
        const nr = theirs.get(name)!;
        if (nr < 0) continue; // libseccomp knows it only as a pseudo/multiplexed call, or not at all
        expect({ arch, name, nr: ARCHES[arch].syscalls[name] }).toEqual({ arch, name, nr });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1500);
  });

  test.each([
    ['no capabilities', []],
    ['CAP_SYS_ADMIN', ['CAP_SYS_ADMIN']],
    ['every capability group', ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_SYS_TIME', 'CAP_SYS_MODULE', 'CAP_SYS_NICE', 'CAP_BPF', 'CAP_PERFMON', 'CAP_SYSLOG', 'CAP_DAC_READ_SEARCH']],
  ])("Docker's default profile (%s): every syscall of every ABI", (_name, caps) => {
    const cfg = defaultSeccompProfile({ capabilities: caps as string[], arch: 'x86_64' });
    const probes: Probe[] = [];
    for (const arch of ['x86_64', 'x86', 'x32'] as ArchName[]) {
      const a = ARCHES[arch].auditArch;
      const base = arch === 'x32' ? 0x40000000 : 0;
      for (let nr = base; nr < base + 600; nr++) {
        for (const a0 of [0n, 8n, 0x20008n, 40n, 1n, 0x7e020000n, 0x10000n, 0x20000000n, 0xffffffffn, 0x1_00000008n]) probes.push({ arch: a, nr, args: [a0, a0] });
      }
      probes.push({ arch: a, nr: 0xffffffff, args: [] }, { arch: a, nr: base + 0x3ffffff, args: [] });
    }
    const { compared, skipped } = compare(ref, cfg, probes);
    expect(skipped).toBe(0);
    expect(compared).toBe(probes.length);
  });

  test('random profiles: all actions, all operators, boundary values, x86_64, i386, x32, aarch64, arm', () => {
    let compared = 0;
    let skipped = 0;
    const archSets = [
      [],
      ['SCMP_ARCH_X86_64'],
      ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
      ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      // libseccomp builds foreign-ABI blocks on this host too, so aarch64 and arm are compared as well.
      ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    ];
    const seeds = Number(process.env.BERTH_SECCOMP_SEEDS ?? 200);
    let conflicts = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = rng(seed);
      const arches = archSets[seed % archSets.length];
      const cfg = randomProfile(r, arches, process.env.BERTH_SECCOMP_CONFLICTS === "1");
      const abis: ArchName[] = ['x86_64', 'x86', 'x32', 'aarch64', 'arm'];
      let res;
      try {
        res = compare(ref, cfg, probesFor(cfg, abis));
      } catch (err) {
        // Both sides must refuse the same profiles (libseccomp: EEXIST for conflicting rules).
        const msg = (err as Error).message;
        if (/conflicting rules/.test(msg)) {
          expect(() => ref.export(cfg)).toThrow(/exists/);
          conflicts++;
          continue;
        }
        throw new Error(`seed ${seed}: ${msg}`);
      }
      compared += res.compared;
      skipped += res.skipped;
    }
    if (process.env.BERTH_SECCOMP_SEEDS) console.log({ seeds, compared, skipped, conflicts });
    expect(compared).toBeGreaterThan(100000);
    // The libseccomp bug only touches some i386 blocks; most inputs must be compared.
    expect(skipped).toBeLessThan(compared / 4);
  });
});
