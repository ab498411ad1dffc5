/**
 * The plan of `exec`: a new process inside a running container, as runc's
 * setns path (nsexec joining by path, then setns_init_linux.go). It joins the
 * init's namespaces (or the paths the container itself joined), its cgroup
 * (at the setup sync), and gets the same security setup as an init would.
 */
import { ConfigError } from '../errors';
import { step, ForkMode, type Plan, type Step } from '../process/plan';
import type { NamespaceType, Process, Spec } from '../spec/types';
import type { SeccompLoad } from './create-plan';
import { SyncPoint, SyncSlot } from './create-plan';
import { planLsm } from './lsm';
import { nsFlag, nsProcName } from './namespaces';
import { planIdentity, planIoPriority, planRlimits, planScheduler, PR, processPath } from './process';

/** setns order: the user namespace first (it owns the others), the mount namespace last (it changes /proc). */
const joinOrder: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'time', 'cgroup', 'mount'];

export interface ExecPlanInput {
  id: string;
  config: Spec;
  initPid: number;
  /** Namespaces the container joined by path at create (the rest are the init's own). */
  namespacePaths: Partial<Record<NamespaceType, string>>;
  process: Process;
  consoleFd?: number;
  seccomp?: SeccompLoad;
  preserveFds: number;
  /** FORK_WAIT keeps the first process as the exec'd process's parent (exec without -d). */
  wait: boolean;
  noNewKeyring: boolean;
  rootless: boolean;
}

/** Where each of the container's namespaces is: the init's own, or the path it joined. */
export function namespacePathsOf(config: Spec, initPid: number, joined: Partial<Record<NamespaceType, string>>): [NamespaceType, string][] {
  const types = (config.linux?.namespaces ?? []).map((n) => n.type);
  return joinOrder
    .filter((t) => types.includes(t))
    .map((t) => [t, joined[t] ?? `/proc/${initPid}/ns/${nsProcName[t]}`] as [NamespaceType, string]);
}

export function buildExecPlan(input: ExecPlanInput): Plan {
  const p = input.process;
  if (!p.args || p.args.length === 0) throw new ConfigError('process args cannot be empty');
  const plan: Step[] = [];

  // ── Stage 0: still in the runtime's namespaces ──────────────────────────────
  if (p.oomScoreAdj !== undefined) plan.push(step.writeFile('/proc/self/oom_score_adj', String(p.oomScoreAdj)));
  plan.push(step.sync(SyncPoint.Setup)); // the runtime moves this process into the container's cgroup
  for (const [type, path] of namespacePathsOf(input.config, input.initPid, input.namespacePaths)) {
    plan.push(step.setns(path, nsFlag[type]));
  }
  plan.push(step.fork(input.wait ? ForkMode.Wait : ForkMode.Detach));

  // ── Stage 1: the new process, inside the container ──────────────────────────
  plan.push(step.setsid());
  if (!input.noNewKeyring) plan.push(step.keyring(`_ses.${input.id}`, 0));
  if (p.terminal) {
    if (input.consoleFd === undefined) throw new ConfigError('cannot allocate tty if runc will detach without setting console socket');
    plan.push(step.console(input.consoleFd, p.consoleSize?.height ?? 0, p.consoleSize?.width ?? 0));
  }
  plan.push(...planLsm(p.apparmorProfile, p.selinuxLabel));
  plan.push(...planIoPriority(p), ...planScheduler(p));
  if (p.noNewPrivileges) plan.push(step.prctl(PR.SET_NO_NEW_PRIVS, 1, 'set no_new_privs'));
  plan.push(...planRlimits(p));
  plan.push(step.umask(p.user.umask ?? 0o022));
  if (input.seccomp?.listenerFd !== undefined && input.seccomp.listenerFd !== null) {
    plan.push(step.sync(SyncPoint.Seccomp, SyncSlot.Seccomp));
  }
  if (input.seccomp && !p.noNewPrivileges) plan.push(step.seccomp(input.seccomp.program, input.seccomp.flags, input.seccomp.listenerFd, SyncSlot.Seccomp));
  plan.push(step.closeFds(3 + input.preserveFds));
  const userns = (input.config.linux?.namespaces ?? []).some((n) => n.type === 'user');
  plan.push(...planIdentity(p, { setgroupsDenied: input.rootless && userns }));
  plan.push(step.chdir(p.cwd));
  plan.push(step.lookup(p.args[0], processPath(p)));
  if (input.seccomp && p.noNewPrivileges) plan.push(step.seccomp(input.seccomp.program, input.seccomp.flags, input.seccomp.listenerFd, SyncSlot.Seccomp));
  plan.push(step.exec(p.args, p.env ?? []));
  return plan;
}
