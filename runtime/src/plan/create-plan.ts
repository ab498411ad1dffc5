/**
 * The plan of `create`: every step the container's init takes, in the order
 * of runc's nsexec.c and standard_init_linux.go. This file is the place to
 * read to know what berth-runtime does to make a container.
 */
import * as fs from 'node:fs';
import type { CgroupHost, CgroupPaths } from '../cgroups';
import { ConfigError } from '../errors';
import { step, ForkMode, type Plan, type Step } from '../process/plan';
import type { Spec } from '../spec/types';
import { sysctlDots } from '../spec/validate';
import { containerDevices, needsSetupDev, planDevices, planDevSymlinks, S_IFIFO } from './devices';
import { MS, parseMountOptions, rootPropagation } from './mount-options';
import { planLsm } from './lsm';
import { planMounts } from './mounts';
import { CLONE, nsFlag, planNamespaces } from './namespaces';
import { planIdentity, planIoPriority, planPersonality, planRlimits, planScheduler, PR, processPath } from './process';
import { cleanPath, RootfsResolver } from './resolve';

/** Names of the SYNC points, answered by the create command (container/create.ts). */
export const SyncPoint = {
  /** Stage 0, before any other namespace: write the id maps, put the process in its cgroup. */
  Setup: 'setup',
  /** Mounts done, before pivot_root: run prestart and createRuntime hooks; reply with the state JSON. */
  CreateRuntime: 'createRuntime',
  /** Setup done: the runtime records the state; reply with the state JSON (for startContainer hooks). */
  Ready: 'ready',
  /** Before a seccomp filter with a listener: reply with the container process state for the agent. */
  Seccomp: 'seccomp',
} as const;

/** Where the init keeps each SYNC reply until a later step uses it. */
export const SyncSlot = { CreateContainer: 0, StartContainer: 1, Seccomp: 2 } as const;

export interface SeccompLoad {
  program: Buffer;
  flags: number;
  /** Child fd of an already-connected listener socket, for SCMP_ACT_NOTIFY. */
  listenerFd: number | null;
}

export interface CreatePlanInput {
  id: string;
  spec: Spec;
  bundle: string;
  rootfs: string;
  fifoPath: string;
  /** Child fd of the connected console socket when process.terminal is set. */
  consoleFd?: number;
  seccomp?: SeccompLoad;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  cgroupPaths: CgroupPaths;
  /** The host's cgroup mounts, for a "cgroup" mount in the container. */
  cgroupHost: CgroupHost;
  /** FORK_WAIT keeps the first process as the init's parent (run without --detach). */
  waitForInit: boolean;
  /** The runtime has no root on the host: setgroups is denied in the user namespace. */
  rootless: boolean;
}

export function buildCreatePlan(input: CreatePlanInput): Plan {
  const { spec, rootfs } = input;
  const p = spec.process!;
  const linux = spec.linux ?? {};
  const ns = planNamespaces(spec);
  const plan: Step[] = [];

  // ── Stage 0: still in the runtime's namespaces ──────────────────────────────
  // The exec fifo is made and opened (O_PATH) while still root on the host: the
  // init, maybe in a user namespace, could not reach the state directory later.
  // Owned by whoever runs the runtime (root, or the user of a rootless container).
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  plan.push(step.mknod(input.fifoPath, S_IFIFO | 0o622, 0, uid, gid), step.openFifo(input.fifoPath));
  if (p.oomScoreAdj !== undefined) {
    // Before the user namespace: inside it, the value could not be set (runc's nsexec does the same).
    plan.push(step.writeFile('/proc/self/oom_score_adj', String(p.oomScoreAdj)));
  }
  for (const j of ns.join) plan.push(step.setns(j.path!, nsFlag[j.type]));
  if (ns.newUser) plan.push(step.unshare(CLONE.NEWUSER, 'create the user namespace'));
  plan.push(step.sync(SyncPoint.Setup));
  if (ns.newUser) plan.push(step.setresgid(0), step.setresuid(0));
  if (ns.unshareFlags) plan.push(step.unshare(ns.unshareFlags, 'create namespaces'));
  if (ns.newTime && linux.timeOffsets) {
    const lines = Object.entries(linux.timeOffsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
    plan.push(step.writeFile('/proc/self/timens_offsets', lines.join('\n')));
  }
  // run -t in the foreground without --console-socket: the first process carries the terminal (as runc does).
  const relay = !!p.terminal && input.consoleFd === undefined && input.waitForInit;
  if (relay) plan.push(step.consoleRelay());
  plan.push(step.fork(input.waitForInit ? ForkMode.Wait : ForkMode.Detach));

  // ── Stage 1: the container's init ───────────────────────────────────────────
  plan.push(step.setsid());
  if (!input.noNewKeyring) {
    // runc: "_ses.<id>", with search permission for others (user ns) or the owner.
    plan.push(step.keyring(`_ses.${input.id}`, ns.has('user') ? 0x8 : 0x80000));
  }
  if (ns.newNet) plan.push(step.loUp());

  const resolver = new RootfsResolver(rootfs);
  const roTmpfs: string[] = [];
  if (ns.has('mount')) {
    const propagation = rootPropagation(linux.rootfsPropagation);
    plan.push(step.mount('', '/', '', propagation, '', 0, 'set the propagation of /'));
    if (propagation & MS.SHARED) {
      // pivot_root refuses a new root whose parent mount is shared (runc's rootfsParentMountPrivate).
      plan.push(step.mount('', parentMountpoint(rootfs), '', MS.PRIVATE, '', 0, 'make the rootfs parent mount private'));
    }
    plan.push(step.mount(rootfs, rootfs, '', MS.BIND | MS.REC, '', 0, 'bind the rootfs onto itself'));
    const mounts = (spec.mounts ?? []).map((m) => {
      // A read-only tmpfs is mounted writable and made read-only at the end (runc),
      // so that devices and directories can be made in it first.
      if (m.type === 'tmpfs' && parseMountOptions(m.options).flags & MS.RDONLY) {
        roTmpfs.push(cleanPath(m.destination));
        return { ...m, options: (m.options ?? []).filter((o) => o !== 'ro') };
      }
      return m;
    });
    plan.push(
      ...planMounts(mounts, {
        bundle: input.bundle,
        resolver,
        cgroupns: ns.has('cgroup'),
        cgroupPaths: input.cgroupPaths,
        cgroupHost: input.cgroupHost,
      }),
    );
    if (needsSetupDev(spec.mounts ?? [])) {
      plan.push(...planDevices(containerDevices(linux.devices), resolver, ns.has('user')));
      plan.push(...planDevSymlinks(resolver));
    }
    plan.push(step.mkdir(resolver.hostPath(resolver.resolve(p.cwd))));
  } else if ((spec.mounts ?? []).length > 0 || linux.devices?.length) {
    throw new ConfigError('mounts and devices need a mount namespace');
  }

  const hooks = spec.hooks ?? {};
  if (hooks.prestart?.length || hooks.createRuntime?.length || hooks.createContainer?.length) {
    plan.push(step.sync(SyncPoint.CreateRuntime, SyncSlot.CreateContainer));
  }
  if (hooks.createContainer?.length) {
    plan.push(step.chdir(rootfs));
    for (const h of hooks.createContainer) {
      plan.push(step.hook(h.path, h.args ?? [h.path], h.env ?? [], h.timeout ?? 0, SyncSlot.CreateContainer, `createContainer hook ${h.path}`));
    }
  }
  if (ns.has('mount')) {
    plan.push(input.noPivot ? step.moveRoot(rootfs) : step.pivotRoot(rootfs));
  }

  if (p.terminal) {
    if (input.consoleFd === undefined && !relay) throw new ConfigError('cannot allocate tty if runc will detach without setting console socket');
    plan.push(step.console(relay ? null : input.consoleFd!, p.consoleSize?.height ?? 0, p.consoleSize?.width ?? 0));
  }
  if (spec.hostname) plan.push(step.sethostname(spec.hostname));
  if (spec.domainname) plan.push(step.setdomainname(spec.domainname));
  plan.push(...planLsm(p.apparmorProfile, p.selinuxLabel));
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    plan.push(step.writeFile(`/proc/sys/${sysctlDots(key).replace(/\./g, '/')}`, value));
  }
  for (const ro of linux.readonlyPaths ?? []) plan.push(step.readonly(cleanPath(ro)));
  for (const m of linux.maskedPaths ?? []) plan.push(step.mask(cleanPath(m)));
  for (const t of roTmpfs) plan.push(step.remountRo(t));
  if (spec.root?.readonly) plan.push(step.remountRo('/'));
  plan.push(step.umask(p.user.umask ?? 0o022));
  plan.push(...planPersonality(linux.personality), ...planIoPriority(p), ...planScheduler(p));
  if (p.noNewPrivileges) plan.push(step.prctl(PR.SET_NO_NEW_PRIVS, 1, 'set no_new_privs'));
  plan.push(...planRlimits(p));
  plan.push(step.sync(SyncPoint.Ready, SyncSlot.StartContainer));
  if (input.seccomp?.listenerFd !== undefined && input.seccomp.listenerFd !== null) {
    plan.push(step.sync(SyncPoint.Seccomp, SyncSlot.Seccomp));
  }

  // Without no_new_privs, loading seccomp needs CAP_SYS_ADMIN: do it before the caps go (runc).
  if (input.seccomp && !p.noNewPrivileges) plan.push(seccompStep(input.seccomp));
  plan.push(step.closeFds(3 + input.preserveFds));
  plan.push(...planIdentity(p, { setgroupsDenied: input.rootless && ns.newUser }));
  plan.push(step.chdir(p.cwd));
  plan.push(step.lookup(p.args![0], processPath(p)));
  plan.push(step.waitFifo());
  for (const h of hooks.startContainer ?? []) {
    plan.push(step.hook(h.path, h.args ?? [h.path], h.env ?? [], h.timeout ?? 0, SyncSlot.StartContainer, `startContainer hook ${h.path}`));
  }
  // With no_new_privs, seccomp is the last step before execve (the filter then
  // only has to allow execve itself), as the issue asks.
  if (input.seccomp && p.noNewPrivileges) plan.push(seccompStep(input.seccomp));
  plan.push(step.exec(p.args!, p.env ?? []));
  return plan;
}

function seccompStep(s: SeccompLoad): Step {
  return step.seccomp(s.program, s.flags, s.listenerFd, SyncSlot.Seccomp);
}

/** The uid/gid map text for /proc/<pid>/{uid,gid}_map. */
export function idMapText(maps: readonly { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** The mountpoint that holds path (the longest mountpoint that is a prefix of it), from mountinfo. */
export function parentMountpoint(p: string, mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8')): string {
  let best = '/';
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (!mp || mp === p) continue;
    if ((p.startsWith(mp + '/') || mp === '/') && mp.length > best.length) best = mp;
  }
  return best;
}
