/**
 * The Plan: the contract between TypeScript and the native init
 * (runtime/native/plan.h). TypeScript decides everything and expresses it as
 * an ordered list of steps; berth-nsexec only carries them out.
 *
 * Numbers here must equal plan.h; plan.test.ts parses the header and checks.
 */

export const PLAN_MAGIC = 0x48545242; // "BRTH"
export const PLAN_VERSION = 1;

export enum StepKind {
  Unshare = 1,
  Setns = 2,
  Sync = 3,
  Fork = 4,
  Mount = 5,
  Mkdir = 6,
  Mkfile = 7,
  Mknod = 8,
  Symlink = 9,
  WriteFile = 10,
  Chdir = 11,
  PivotRoot = 12,
  MoveRoot = 13,
  Sethostname = 14,
  Setdomainname = 15,
  Setrlimit = 16,
  Prctl = 17,
  Personality = 18,
  Ioprio = 19,
  Sched = 20,
  Setsid = 21,
  Console = 22,
  Keyring = 23,
  LoUp = 24,
  Mask = 25,
  Readonly = 26,
  RemountRo = 27,
  Setgroups = 28,
  Setresgid = 29,
  Setresuid = 30,
  CapBounding = 31,
  Caps = 32,
  Umask = 33,
  OpenFifo = 34,
  WaitFifo = 35,
  Hook = 36,
  Seccomp = 37,
  CloseFds = 38,
  Lookup = 39,
  Exec = 40,
  DupStdio = 41,
  BpfDevices = 42,
  Report = 43,
  MountSetattr = 44,
  ConsoleRelay = 45,
}

/** Step flags (plan.h F_*). */
export const StepFlag = {
  IgnoreEnoent: 1 << 0,
  CheckTarget: 1 << 1,
  IgnoreEperm: 1 << 2,
  SyncStdin: 1 << 3,
  SearchPath: 1 << 4,
  CopyUp: 1 << 5,
} as const;

export const ForkMode = { Detach: 0, Wait: 1 } as const;

/** One argument: a string (sent NUL-terminated), a number (u64), raw bytes, or a list of strings. */
export type Arg = string | bigint | number | Buffer | { list: string[] };

export interface Step {
  kind: StepKind;
  flags?: number;
  args: Arg[];
  /** What the step is for, for logs and errors ("mount /proc"); not sent to the C side. */
  why?: string;
}

/** An ordered list of steps; `why` texts stay on the TypeScript side. */
export type Plan = Step[];

// Typed constructors keep call sites readable and the argument order in one place.
export const step = {
  unshare: (flags: number, why?: string): Step => ({ kind: StepKind.Unshare, args: [flags], why }),
  setns: (path: string, nstype: number): Step => ({ kind: StepKind.Setns, args: [path, nstype], why: `join ${path}` }),
  /** Asks the runtime; its reply is kept in `slot` (0-3) for a later HOOK or SECCOMP step. */
  sync: (name: string, slot = 0): Step => ({ kind: StepKind.Sync, args: [name, slot], why: `sync ${name}` }),
  report: (name: string): Step => ({ kind: StepKind.Report, args: [name], why: `report ${name}` }),
  fork: (mode: number): Step => ({ kind: StepKind.Fork, args: [mode], why: 'fork' }),
  mount: (source: string, target: string, fstype: string, flags: bigint | number, data: string, stepFlags = 0, why?: string): Step => ({
    kind: StepKind.Mount,
    flags: stepFlags,
    args: [source, target, fstype, flags, data],
    why: why ?? `mount ${target}`,
  }),
  mkdir: (path: string, mode = 0o755): Step => ({ kind: StepKind.Mkdir, args: [path, mode], why: `mkdir ${path}` }),
  mkfile: (path: string, mode = 0o755): Step => ({ kind: StepKind.Mkfile, args: [path, mode], why: `create ${path}` }),
  mknod: (path: string, mode: number, dev: bigint | number, uid: number, gid: number): Step => ({
    kind: StepKind.Mknod,
    args: [path, mode, dev, uid, gid],
    why: `mknod ${path}`,
  }),
  symlink: (target: string, linkpath: string): Step => ({ kind: StepKind.Symlink, args: [target, linkpath], why: `symlink ${linkpath}` }),
  writeFile: (path: string, data: string, stepFlags = 0): Step => ({ kind: StepKind.WriteFile, flags: stepFlags, args: [path, data], why: `write ${path}` }),
  chdir: (path: string): Step => ({ kind: StepKind.Chdir, args: [path], why: `chdir ${path}` }),
  pivotRoot: (rootfs: string): Step => ({ kind: StepKind.PivotRoot, args: [rootfs], why: 'pivot_root' }),
  moveRoot: (rootfs: string): Step => ({ kind: StepKind.MoveRoot, args: [rootfs], why: 'move root (no pivot)' }),
  sethostname: (name: string): Step => ({ kind: StepKind.Sethostname, args: [name] }),
  setdomainname: (name: string): Step => ({ kind: StepKind.Setdomainname, args: [name] }),
  setrlimit: (resource: number, soft: bigint, hard: bigint, name: string): Step => ({
    kind: StepKind.Setrlimit,
    args: [resource, soft, hard],
    why: `setrlimit ${name}`,
  }),
  prctl: (option: number, arg2: number | bigint, why: string): Step => ({ kind: StepKind.Prctl, args: [option, arg2], why }),
  personality: (persona: number): Step => ({ kind: StepKind.Personality, args: [persona] }),
  ioprio: (value: number): Step => ({ kind: StepKind.Ioprio, args: [value] }),
  sched: (policy: number, flags: bigint, nice: number, priority: number, runtime: bigint, deadline: bigint, period: bigint): Step => ({
    kind: StepKind.Sched,
    // nice may be negative: send it as its two's complement in 64 bits.
    args: [policy, flags, BigInt.asUintN(64, BigInt(nice)), priority, runtime, deadline, period],
  }),
  setsid: (): Step => ({ kind: StepKind.Setsid, args: [] }),
  /** A pty sent over a socket: an inherited console socket fd, or (null) the CONSOLE_RELAY socket. */
  console: (fd: number | null, rows = 0, cols = 0): Step => ({
    kind: StepKind.Console,
    args: [fd === null ? 0xffff_ffff_ffff_ffffn : fd, rows, cols],
    why: 'set up the console',
  }),
  consoleRelay: (): Step => ({ kind: StepKind.ConsoleRelay, args: [], why: 'prepare the console relay' }),
  keyring: (name: string, addPerm: number): Step => ({ kind: StepKind.Keyring, args: [name, addPerm], why: `join session keyring ${name}` }),
  mountSetattr: (path: string, set: number, clr: number): Step => ({
    kind: StepKind.MountSetattr,
    args: [path, set, clr],
    why: `set recursive mount attributes on ${path}`,
  }),
  loUp: (): Step => ({ kind: StepKind.LoUp, args: [], why: 'bring lo up' }),
  mask: (path: string): Step => ({ kind: StepKind.Mask, args: [path], why: `mask ${path}` }),
  readonly: (path: string): Step => ({ kind: StepKind.Readonly, args: [path], why: `make ${path} read-only` }),
  remountRo: (path: string): Step => ({ kind: StepKind.RemountRo, args: [path], why: `remount ${path} read-only` }),
  setgroups: (gids: number[]): Step => {
    const buf = Buffer.alloc(gids.length * 4);
    gids.forEach((g, i) => buf.writeUInt32LE(g, i * 4));
    return { kind: StepKind.Setgroups, args: [buf], why: 'setgroups' };
  },
  setresgid: (gid: number): Step => ({ kind: StepKind.Setresgid, args: [gid], why: `setgid ${gid}` }),
  setresuid: (uid: number): Step => ({ kind: StepKind.Setresuid, args: [uid], why: `setuid ${uid}` }),
  capBounding: (keep: bigint): Step => ({ kind: StepKind.CapBounding, args: [keep], why: 'drop bounding capabilities' }),
  caps: (effective: bigint, permitted: bigint, inheritable: bigint, ambient: bigint): Step => ({
    kind: StepKind.Caps,
    args: [effective, permitted, inheritable, ambient],
    why: 'set capabilities',
  }),
  umask: (mask: number): Step => ({ kind: StepKind.Umask, args: [mask] }),
  openFifo: (path: string): Step => ({ kind: StepKind.OpenFifo, args: [path], why: 'open exec fifo' }),
  waitFifo: (): Step => ({ kind: StepKind.WaitFifo, args: [], why: 'wait for start' }),
  /** A hook run by the init, with the reply kept in sync `slot` on its stdin. */
  hook: (path: string, args: string[], env: string[], timeoutSeconds: number, slot: number, why: string): Step => ({
    kind: StepKind.Hook,
    flags: StepFlag.SyncStdin,
    args: [path, { list: args }, { list: env }, timeoutSeconds, slot],
    why,
  }),
  /** Loads a BPF program; with a listener fd, sends it the notify fd and the state kept in sync `slot`. */
  seccomp: (program: Buffer, flags: number, listenerFd: number | null, slot = 0): Step => ({
    kind: StepKind.Seccomp,
    args: [program, flags, listenerFd === null ? 0xffff_ffff_ffff_ffffn : listenerFd, slot],
    why: 'load seccomp filter',
  }),
  closeFds: (first: number): Step => ({ kind: StepKind.CloseFds, args: [first], why: 'close extra fds' }),
  lookup: (name: string, pathEnv: string): Step => ({
    kind: StepKind.Lookup,
    flags: StepFlag.SearchPath,
    args: [name, pathEnv],
    why: `look up ${name}`,
  }),
  exec: (argv: string[], env: string[]): Step => ({ kind: StepKind.Exec, args: [{ list: argv }, { list: env }], why: 'exec' }),
  dupStdio: (path: string): Step => ({ kind: StepKind.DupStdio, args: [path] }),
};

function encodeArg(a: Arg): Buffer {
  if (typeof a === 'string') return Buffer.from(a + '\0', 'utf8');
  if (typeof a === 'number' || typeof a === 'bigint') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)));
    return b;
  }
  if (Buffer.isBuffer(a)) return a;
  return Buffer.from(a.list.map((s) => s + '\0').join(''), 'utf8');
}

/** Encodes a plan as plan.h describes: a header, then each step's kind, flags and arguments. */
export function encodePlan(plan: Plan): Buffer {
  const parts: Buffer[] = [];
  for (const s of plan) {
    const args = s.args.map(encodeArg);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(s.kind, 0);
    head.writeUInt32LE(s.flags ?? 0, 4);
    head.writeUInt32LE(args.length, 8);
    parts.push(head);
    for (const a of args) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(a.length);
      parts.push(len, a);
    }
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(PLAN_MAGIC, 0);
  header.writeUInt32LE(PLAN_VERSION, 4);
  header.writeUInt32LE(16 + body.length, 8);
  header.writeUInt32LE(plan.length, 12);
  return Buffer.concat([header, body]);
}
