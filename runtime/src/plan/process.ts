/**
 * The process part of the plan: rlimits, personality, I/O priority,
 * scheduler, then the identity switch (runc's finalizeNamespace: bounding set,
 * keep-caps, groups, gid, uid, then the other capability sets).
 */
import { ConfigError } from '../errors';
import type { Process, LinuxPersonality } from '../spec/types';
import { step, type Step } from '../process/plan';
import { capabilityMasks, capabilityNames } from './capabilities';
import { log } from '../logging';

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

export const PR = { SET_PDEATHSIG: 1, SET_KEEPCAPS: 8, SET_NO_NEW_PRIVS: 38 } as const;

const toU64 = (v: number): bigint => (v < 0 || v >= 2 ** 64 - 1 ? 0xffff_ffff_ffff_ffffn : BigInt(Math.floor(v)));

export function planRlimits(p: Process): Step[] {
  const seen = new Set<string>();
  return (p.rlimits ?? []).map((r) => {
    const n = RLIMITS[r.type];
    if (n === undefined) throw new ConfigError(`unknown rlimit type ${JSON.stringify(r.type)}`);
    if (seen.has(r.type)) throw new ConfigError(`duplicate rlimit type ${JSON.stringify(r.type)}`);
    seen.add(r.type);
    return step.setrlimit(n, toU64(r.soft), toU64(r.hard), r.type);
  });
}

export function planPersonality(p: LinuxPersonality | undefined): Step[] {
  if (!p) return [];
  const domains: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
  const d = domains[p.domain];
  if (d === undefined) throw new ConfigError(`personality: unknown domain ${JSON.stringify(p.domain)}`);
  if ((p.flags ?? []).length > 0) throw new ConfigError('personality: flags are not supported');
  return [step.personality(d)];
}

export function planIoPriority(p: Process): Step[] {
  if (!p.ioPriority) return [];
  const classes: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
  const c = classes[p.ioPriority.class];
  if (c === undefined) throw new ConfigError(`ioPriority: unknown class ${JSON.stringify(p.ioPriority.class)}`);
  if (p.ioPriority.priority < 0 || p.ioPriority.priority > 7) throw new ConfigError('ioPriority: priority must be between 0 and 7');
  return [step.ioprio((c << 13) | p.ioPriority.priority)];
}

export function planScheduler(p: Process): Step[] {
  const s = p.scheduler;
  if (!s) return [];
  const policies: Record<string, number> = {
    SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
  };
  const flags: Record<string, number> = {
    SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
    SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
  };
  const policy = policies[s.policy];
  if (policy === undefined) throw new ConfigError(`scheduler: unknown policy ${JSON.stringify(s.policy)}`);
  let f = 0n;
  for (const name of s.flags ?? []) {
    const v = flags[name];
    if (v === undefined) throw new ConfigError(`scheduler: unknown flag ${JSON.stringify(name)}`);
    f |= BigInt(v);
  }
  return [step.sched(policy, f, s.nice ?? 0, s.priority ?? 0, BigInt(s.runtime ?? 0), BigInt(s.deadline ?? 0), BigInt(s.period ?? 0))];
}

export interface IdentityOptions {
  /** setgroups(2) is denied in this user namespace (rootless): skip it, as runc does. */
  setgroupsDenied: boolean;
}

/**
 * runc's finalizeNamespace: drop the bounding set, keep capabilities across
 * the uid change, switch groups/gid/uid, stop keeping, then set the effective,
 * permitted, inheritable and ambient sets.
 */
export function planIdentity(p: Process, opts: IdentityOptions): Step[] {
  const caps = capabilityMasks(p.capabilities);
  // runc: capabilities this kernel does not have are ignored with a warning.
  if (caps.ignored.length > 0) log.warn('ignoring unknown or unavailable capabilities', { capabilities: caps.ignored.join(',') });
  const steps: Step[] = [step.capBounding(caps.bounding), step.prctl(PR.SET_KEEPCAPS, 1, 'keep capabilities across setuid')];
  if (!opts.setgroupsDenied) steps.push(step.setgroups(p.user.additionalGids ?? []));
  steps.push(step.setresgid(p.user.gid), step.setresuid(p.user.uid));
  steps.push(step.prctl(PR.SET_KEEPCAPS, 0, 'stop keeping capabilities'));
  // The kernel raises an ambient capability only if it is permitted and inheritable.
  // runc ignores the failures silently (gocapability); berth drops them up front, with a warning.
  const ambient = caps.ambient & caps.permitted & caps.inheritable;
  if (ambient !== caps.ambient) {
    log.debug('ambient capabilities that are not both permitted and inheritable are ignored', {
      ignored: capabilityNames(caps.ambient & ~ambient).join(','),
    });
  }
  steps.push(step.caps(caps.effective, caps.permitted, caps.inheritable, ambient));
  return steps;
}

/** The PATH the binary is looked up with: the process's own, as runc (which sets the env first). */
export function processPath(p: Process): string {
  const e = (p.env ?? []).find((v) => v.startsWith('PATH='));
  return e ? e.slice(5) : '';
}
