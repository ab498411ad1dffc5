/**
 * Compiles an OCI `linux.seccomp` profile (runtime-spec config-linux.md
 * "Seccomp") into a classic BPF program for seccomp(2), with the semantics
 * runc gets from libseccomp (runc libcontainer/seccomp/seccomp_linux.go,
 * libcontainer/specconv SetupSeccomp, libseccomp 2.5 db.c / gen_bpf.c):
 *
 * - The filter covers the native architecture plus `architectures`; a syscall
 *   from any other ABI gets libseccomp's bad-arch action, KILL_THREAD (runc
 *   never changes it). x86_64 and x32 share AUDIT_ARCH_X86_64: when x32 is
 *   not in the filter an x86_64-arch nr with __X32_SYSCALL_BIT set is a bad
 *   arch too (nr -1 excepted: it gets the default action), as libseccomp does.
 * - Names resolve per architecture from tables generated from the kernel's
 *   headers. A name no supported architecture knows is ignored (runc logs it at
 *   debug level and goes on); a name missing on one architecture only applies
 *   to the others. On i386, socket and SysV IPC calls are also matched through
 *   socketcall(2)/ipc(2) with arg0 = the sub-call, as libseccomp does (the
 *   rule's own arg0 condition is replaced there, as in libseccomp).
 * - A rule whose action equals the default action is dropped (runc skips it:
 *   libseccomp refuses it).
 * - Conditions on one rule are ANDed; if two conditions name the same argument,
 *   runc adds each condition as a rule of its own (OR), and so does berth.
 *   Several rules for one syscall are ORed. Arguments compare as unsigned
 *   64-bit numbers; on 32-bit ABIs (i386, x32, arm) only the low 32 bits of the
 *   argument and of the values take part, as in libseccomp.
 * - When rules for one syscall have different actions, libseccomp decides by
 *   the shape of its rule tree, not by the order of the profile: an
 *   unconditional rule beats every conditional one (the first unconditional
 *   rule wins among several), and conditional rules are tried in libseccomp's
 *   tree order (higher argument index first, then EQ/NE/MASKED_EQ before LT/LE
 *   before GT/GE, then larger values first); see orderRules().
 * - runc's -ENOSYS stub (libcontainer/seccomp/patchbpf): unless the default
 *   action is ALLOW, LOG or TRACE, a syscall numbered above the highest one the
 *   profile names for a listed architecture returns ENOSYS instead of the
 *   default action, so that programs fall back from syscalls newer than the
 *   profile (clone3, faccessat2, ...). Option `enosys: false` turns it off.
 */
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { ARCHES, ArchName, IPC_SUBCALLS, SOCKETCALL_SUBCALLS, X32_SYSCALL_BIT, archFromOci, isKnownSyscall, nativeArch, syscallNumber } from './arch';
import { Insn, SECCOMP_RET, encodeProgram } from './bpf';
import { ArchBlock, ArgRule, CompareOp, Condition, Decision, Interval, generateProgram } from './codegen';
import type { LinuxSeccomp, LinuxSeccompArg } from '../spec/types';

/** seccomp(2) filter flags (linux/seccomp.h). */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/** The flags a profile may name (runtime-spec LinuxSeccompFlag; runc accepts TSYNC as well). */
const PROFILE_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

const EPERM = 1;
const ENOSYS = 38;

/** The OCI action names (runc libcontainer/seccomp/config.go) with libseccomp's values. */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

export const SECCOMP_OPERATORS: Readonly<Record<string, CompareOp>> = {
  SCMP_CMP_NE: 'NE',
  SCMP_CMP_LT: 'LT',
  SCMP_CMP_LE: 'LE',
  SCMP_CMP_EQ: 'EQ',
  SCMP_CMP_GE: 'GE',
  SCMP_CMP_GT: 'GT',
  SCMP_CMP_MASKED_EQ: 'MASKED_EQ',
};

export interface CompileOptions {
  /** The architecture the runtime runs on (default: this process's). */
  nativeArch?: ArchName;
  /** runc's -ENOSYS stub for syscalls newer than the profile (default true). */
  enosys?: boolean;
}

export interface CompiledSeccomp {
  /** struct sock_filter[] in host (little-endian) order, for STEP_SECCOMP. */
  program: Buffer;
  instructions: Insn[];
  /** seccomp(2) flags, NEW_LISTENER included when a rule uses SCMP_ACT_NOTIFY. */
  flags: number;
  /** True when the filter has NOTIFY rules: the notify fd must go to listenerPath. */
  needsListener: boolean;
  defaultAction: number;
  /** The architectures in the filter, native first. */
  architectures: ArchName[];
  /** Syscall names no supported architecture knows: ignored, as runc ignores them. */
  ignoredSyscalls: string[];
}

/** runc treats a profile with neither a default action nor syscalls as no seccomp at all. */
export function seccompDisabled(cfg: LinuxSeccomp | undefined): boolean {
  return !cfg || (!cfg.defaultAction && (cfg.syscalls ?? []).length === 0);
}

function invalid(message: string): never {
  throw new InvalidArgumentError(`seccomp: ${message}`);
}

function errnoValue(v: number | undefined, what: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) invalid(`${what} ${v} is not an errno value (0..65535)`);
  return v;
}

/** The seccomp return value of an OCI action (errnoRet applies to ERRNO and, as its message, to TRACE). */
export function actionValue(name: string, errnoRet?: number, what = 'errnoRet'): number {
  switch (name) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SECCOMP_RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SECCOMP_RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SECCOMP_RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SECCOMP_RET.ERRNO | errnoValue(errnoRet, what, EPERM)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SECCOMP_RET.TRACE | errnoValue(errnoRet, what, EPERM)) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SECCOMP_RET.ALLOW;
    case 'SCMP_ACT_LOG':
      return SECCOMP_RET.LOG;
    case 'SCMP_ACT_NOTIFY':
      return SECCOMP_RET.USER_NOTIF;
    default:
      return invalid(`string ${name} is not a valid action for seccomp`);
  }
}

function u64(v: number | bigint | undefined, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'bigint') {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) invalid(`${what} ${v} is not an unsigned 64-bit value`);
    return v;
  }
  if (!Number.isInteger(v) || v < 0) invalid(`${what} ${v} is not an unsigned integer`);
  // JSON numbers above 2^53 have lost their low bits already; refuse rather than guess.
  if (!Number.isSafeInteger(v)) invalid(`${what} ${v} is too large to be exact in JSON (above 2^53); pass it as a BigInt`);
  return BigInt(v);
}

function parseCondition(a: LinuxSeccompArg, name: string): Condition {
  const op = SECCOMP_OPERATORS[a.op];
  if (!op) invalid(`string ${a.op} is not a valid operator for seccomp`);
  if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) invalid(`syscall ${name}: argument index ${a.index} is out of range (syscalls have 6 arguments, 0..5)`);
  const value = u64(a.value as number | bigint, `syscall ${name}: argument ${a.index} value`);
  const valueTwo = u64(a.valueTwo as number | bigint | undefined, `syscall ${name}: argument ${a.index} valueTwo`);
  return { arg: a.index, op, value, valueTwo };
}

interface ProfileRule {
  name: string;
  action: number;
  conds: Condition[];
}

// libseccomp's tree order for the nodes of a rule (db.c _db_chain_lt / _db_chain_eq).
interface Node {
  prio: number;
  opPrio: number;
  op: string;
  opOrig: CompareOp;
  datum: number;
  mask: number;
}

const OP_PRIORITY: Record<CompareOp, number> = { MASKED_EQ: 3, EQ: 3, NE: 3, LE: 2, LT: 2, GE: 1, GT: 1 };
const NORMALISED: Record<CompareOp, string> = { EQ: 'EQ', NE: 'EQ', MASKED_EQ: 'MASKED_EQ', LT: 'GE', GE: 'GE', LE: 'GT', GT: 'GT' };

function nodes(conds: Condition[], bits: 32 | 64): Node[] {
  const out: Node[] = [];
  for (const c of [...conds].sort((a, b) => a.arg - b.arg)) {
    const masked = c.op === 'MASKED_EQ';
    const datum = masked ? c.valueTwo & c.value : c.value;
    const mask = masked ? c.value : 0xffff_ffff_ffff_ffffn;
    const words = bits === 64 ? [true, false] : [false];
    for (const high of words) {
      const w = (v: bigint): number => Number(high ? (v >> 32n) & 0xffffffffn : v & 0xffffffffn);
      // The high-word node of a range comparison is a GT whatever the operator; the low word carries it.
      const op = high && ['GT', 'GE', 'LT', 'LE'].includes(c.op) ? 'GT' : NORMALISED[c.op];
      out.push({ prio: c.arg * 2 + (high ? 1 : 0), opPrio: OP_PRIORITY[c.op], op, opOrig: c.op, datum: w(datum), mask: w(mask) });
    }
  }
  return out;
}

const nodeEq = (a: Node, b: Node): boolean => a.prio === b.prio && a.op === b.op && a.datum === b.datum && a.mask === b.mask;

function nodeLt(a: Node, b: Node): boolean {
  if (a.prio !== b.prio) return a.prio < b.prio;
  if (a.opPrio !== b.opPrio) return a.opPrio < b.opPrio;
  if (a.opOrig === 'LT' || a.opOrig === 'LE') return a.datum > b.datum;
  return a.datum < b.datum;
}

/**
 * Orders the conditional rules of one syscall the way libseccomp's tree
 * evaluates them (each level of the tree is kept sorted by _db_chain_lt, a new
 * node going after its equals), so that "first matching rule wins" gives
 * libseccomp's answer. A rule whose conditions extend a rule with the same
 * prefix is shadowed by the shorter one; libseccomp refuses (EEXIST) a shorter
 * or identical rule with a different action added after the longer one, and
 * so does this.
 */
function orderRules(rules: ArgRule[], bits: 32 | 64, syscall: string): ArgRule[] {
  const ordered: { rule: ArgRule; nodes: Node[] }[] = [];
  for (const rule of rules) {
    const n = nodes(rule.conds, bits);
    let at = ordered.length;
    for (let i = 0; i < ordered.length; i++) {
      const x = ordered[i].nodes;
      let k = 0;
      while (k < x.length && k < n.length && nodeEq(x[k], n[k])) k++;
      if (k === n.length) {
        // The new rule is a prefix of (or equal to) an existing one: libseccomp keeps the shorter.
        if (ordered[i].rule.action !== rule.action)
          invalid(`conflicting rules for syscall ${syscall}: same conditions with different actions (libseccomp refuses them: file exists)`);
        at = i;
        break;
      }
      if (k === x.length) continue; // an existing shorter rule already decides; the new one is shadowed after it
      if (nodeLt(x[k], n[k])) {
        at = i;
        break;
      }
    }
    ordered.splice(at, 0, { rule, nodes: n });
  }
  return ordered.map((o) => o.rule);
}

function parseFlags(cfg: LinuxSeccomp): number {
  if (cfg.flags !== undefined && !Array.isArray(cfg.flags)) invalid('flags must be a list');
  let flags = 0;
  for (const f of cfg.flags ?? []) {
    const v = PROFILE_FLAGS[f];
    if (v === undefined) invalid(`seccomp flag ${JSON.stringify(f)} is not supported (known: ${Object.keys(PROFILE_FLAGS).join(', ')})`);
    flags |= v;
  }
  return flags;
}

/** Compiles `cfg` to a BPF program and the seccomp(2) flags to load it with. */
export function compileSeccomp(cfg: LinuxSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  if (!cfg || typeof cfg !== 'object') invalid('profile must be an object');
  const defaultAction = actionValue(cfg.defaultAction ?? '', cfg.defaultErrnoRet, 'defaultErrnoRet');
  if (defaultAction === SECCOMP_RET.USER_NOTIF) invalid('SCMP_ACT_NOTIFY cannot be used as default action');
  let flags = parseFlags(cfg);

  const native = opts.nativeArch ?? nativeArch();
  if (!ARCHES[native]) invalid(`unknown native architecture ${native}`);
  const listed = (cfg.architectures ?? []).map((a) => archFromOciChecked(a));
  const arches: ArchName[] = [native];
  for (const a of listed) if (!arches.includes(a)) arches.push(a);

  // Rules, as runc's SetupSeccomp + matchCall build them.
  const rules: ProfileRule[] = [];
  const ignored = new Set<string>();
  let needsListener = false;
  if (cfg.syscalls !== undefined && !Array.isArray(cfg.syscalls)) invalid('syscalls must be a list');
  if (cfg.architectures !== undefined && !Array.isArray(cfg.architectures)) invalid('architectures must be a list');
  for (const [i, group] of (cfg.syscalls ?? []).entries()) {
    if (!group || typeof group !== 'object') invalid(`syscalls[${i}] must be an object`);
    if (!Array.isArray(group.names) || group.names.some((n) => typeof n !== 'string')) invalid(`syscalls[${i}].names must be a list of syscall names`);
    if (group.args !== undefined && !Array.isArray(group.args)) invalid(`syscalls[${i}].args must be a list`);
    const action = actionValue(group.action, group.errnoRet, `syscalls[${i}].errnoRet`);
    const conds = (group.args ?? []).map((a) => parseCondition(a, (group.names ?? []).join(',')));
    // Two conditions on one argument: runc adds each condition as a rule of its own.
    const seen = new Set<number>();
    const split = conds.some((c) => seen.size === seen.add(c.arg).size);
    for (const name of group.names ?? []) {
      if (!name) invalid(`syscalls[${i}]: empty string is not a valid syscall`);
      if (action === SECCOMP_RET.USER_NOTIF) {
        if (name === 'write') invalid('SCMP_ACT_NOTIFY cannot be used for the write syscall');
        // runc asks for a listener whenever the profile has a NOTIFY rule, known syscall or not.
        needsListener = true;
      }
      if (action === defaultAction) continue;
      if (!isKnownSyscall(name)) {
        ignored.add(name);
        continue;
      }
      if (split) for (const c of conds) rules.push({ name, action, conds: [c] });
      else rules.push({ name, action, conds });
    }
  }
  // Without a listener every notified syscall would just fail (ENOSYS): refuse the profile instead.
  if (needsListener && !cfg.listenerPath) invalid('SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath (the socket that receives the notify fd)');
  if (needsListener) flags |= SECCOMP_FILTER_FLAG.NEW_LISTENER;
  if (flags & SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV && !needsListener) invalid('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule');
  // The kernel refuses TSYNC with NEW_LISTENER unless TSYNC_ESRCH is set too (libseccomp sets it).
  if (flags & SECCOMP_FILTER_FLAG.TSYNC && needsListener) flags |= SECCOMP_FILTER_FLAG.TSYNC_ESRCH;

  const allowLike = [SECCOMP_RET.ALLOW, SECCOMP_RET.LOG].includes(defaultAction as never) || (defaultAction & SECCOMP_RET.ACTION_FULL) >>> 0 === SECCOMP_RET.TRACE;
  const enosys = (opts.enosys ?? true) && !allowLike;
  const names = (cfg.syscalls ?? []).flatMap((g) => g.names ?? []);

  const blocks: ArchBlock[] = [];
  for (const audit of [...new Set(arches.map((a) => ARCHES[a].auditArch))]) {
    const members = arches.filter((a) => ARCHES[a].auditArch === audit);
    blocks.push(buildBlock(audit, members, rules, defaultAction, enosys ? listed : [], names));
  }
  const instructions = generateProgram(blocks, SECCOMP_RET.KILL_THREAD);
  return {
    program: encodeProgram(instructions),
    instructions,
    flags,
    needsListener,
    defaultAction,
    architectures: arches,
    ignoredSyscalls: [...ignored],
  };
}

function archFromOciChecked(name: string): ArchName {
  try {
    return archFromOci(name);
  } catch (err) {
    return invalid((err as Error).message);
  }
}

/** The syscall numbers a rule becomes on one ABI (libseccomp arch_syscall_translate + abi_rule_add). */
function resolveRule(arch: ArchName, r: ProfileRule, out: { nr: number; conds: Condition[] }[]): void {
  const def = ARCHES[arch];
  const direct = syscallNumber(arch, r.name);
  // i386: socket and SysV IPC calls also go through socketcall(2)/ipc(2), arg0 = the sub-call.
  let muxNr: number | undefined;
  let sub: number | undefined;
  if (def.socketcall !== undefined && (sub = SOCKETCALL_SUBCALLS[r.name]) !== undefined) muxNr = def.socketcall;
  else if (def.ipc !== undefined && (sub = IPC_SUBCALLS[r.name]) !== undefined) muxNr = def.ipc;
  if (muxNr !== undefined && sub !== undefined) {
    const subCond: Condition = { arg: 0, op: 'EQ', value: BigInt(sub), valueTwo: 0n };
    out.push({ nr: muxNr, conds: [subCond, ...r.conds.filter((c) => c.arg !== 0)] });
  }
  if (direct !== undefined) out.push({ nr: direct, conds: r.conds });
}

/** The highest syscall number the profile names on an ABI, as runc's patchbpf findLastSyscalls computes it. */
function lastSyscall(arch: ArchName, names: string[]): number {
  let last = 0;
  for (const name of names) {
    // libseccomp resolves i386 socket/ipc names to negative pseudo numbers, which never count.
    if (ARCHES[arch].socketcall !== undefined && (name in SOCKETCALL_SUBCALLS || name in IPC_SUBCALLS)) continue;
    const nr = syscallNumber(arch, name);
    if (nr !== undefined && nr > last) last = nr;
  }
  return last;
}

function buildBlock(auditArch: number, members: ArchName[], rules: ProfileRule[], defaultAction: number, enosysArches: ArchName[], names: string[]): ArchBlock {
  // Collect the rules per syscall number; numbers of x86_64 and x32 never collide.
  const perNr = new Map<number, { bits: 32 | 64; name: string; rules: ArgRule[]; uncond?: number }>();
  for (const arch of members) {
    const wordMask = ARCHES[arch].bits === 64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn;
    const resolved: { nr: number; conds: Condition[] }[] = [];
    for (const r of rules) {
      resolved.length = 0;
      resolveRule(arch, r, resolved);
      for (const { nr, conds: all } of resolved) {
        // libseccomp drops a MASKED_EQ whose mask is zero in the ABI's word size (it always holds);
        // a rule left without conditions is unconditional.
        const conds = all.length === 0 ? all : all.filter((c) => !(c.op === 'MASKED_EQ' && (c.value & wordMask) === 0n));
        let e = perNr.get(nr);
        if (!e) perNr.set(nr, (e = { bits: ARCHES[arch].bits, name: r.name, rules: [] }));
        if (conds.length === 0) e.uncond ??= r.action;
        else e.rules.push({ conds, action: r.action });
      }
    }
  }
  let intervals: Interval[] = [];
  let next = 0;
  // A typed array sorts numerically without a comparator call per step.
  for (const nr of Uint32Array.from(perNr.keys()).sort()) {
    const e = perNr.get(nr)!;
    if (nr > next) intervals.push({ lo: next, hi: nr - 1, decision: { kind: 'ret', action: defaultAction } });
    let decision: Decision;
    if (e.uncond !== undefined) decision = { kind: 'ret', action: e.uncond };
    else decision = { kind: 'args', bits: e.bits, rules: orderRules(e.rules, e.bits, e.name), fallback: defaultAction };
    intervals.push({ lo: nr, hi: nr, decision });
    next = nr + 1;
  }
  if (next <= 0xffffffff) intervals.push({ lo: next, hi: 0xffffffff, decision: { kind: 'ret', action: defaultAction } });

  const has64 = members.includes('x86_64');
  const hasX32 = members.includes('x32');
  const badArch: Decision = { kind: 'ret', action: SECCOMP_RET.KILL_THREAD };
  // libseccomp: x32 numbers in an x86_64-only filter are a bad arch (nr -1 excepted), and the reverse.
  if (has64 && !hasX32) intervals = overlay(intervals, X32_SYSCALL_BIT, 0xfffffffe, badArch);
  if (hasX32 && !has64) intervals = overlay(intervals, 0, X32_SYSCALL_BIT - 1, badArch);

  // runc's -ENOSYS stub, per listed ABI; x86_64 and x32 split on __X32_SYSCALL_BIT.
  const enosys: Decision = { kind: 'ret', action: (SECCOMP_RET.ERRNO | ENOSYS) >>> 0 };
  for (const arch of members) {
    if (!enosysArches.includes(arch)) continue;
    const last = lastSyscall(arch, names);
    if (last === 0) continue;
    if (arch === 'x86_64') intervals = overlay(intervals, last + 1, X32_SYSCALL_BIT - 1, enosys);
    else if (last < 0xffffffff) intervals = overlay(intervals, last + 1, 0xffffffff, enosys);
  }
  return { auditArch, intervals };
}

/** Replaces the decision for [lo, hi] in a sorted, gap-free interval list (keeps it sorted, no re-sort). */
function overlay(intervals: Interval[], lo: number, hi: number, decision: Decision): Interval[] {
  if (lo > hi) return intervals;
  const out: Interval[] = [];
  let placed = false;
  for (const iv of intervals) {
    if (iv.hi < lo) {
      out.push(iv);
      continue;
    }
    if (iv.lo > hi) {
      if (!placed) out.push({ lo, hi, decision }), (placed = true);
      out.push(iv);
      continue;
    }
    if (iv.lo < lo) out.push({ lo: iv.lo, hi: lo - 1, decision: iv.decision });
    if (!placed) out.push({ lo, hi, decision }), (placed = true);
    if (iv.hi > hi) out.push({ lo: hi + 1, hi: iv.hi, decision: iv.decision });
  }
  if (!placed) out.push({ lo, hi, decision });
  return out;
}
