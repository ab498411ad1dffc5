/**
 * create: set up a container from a bundle and leave its init waiting on the
 * exec fifo (runtime-spec "create"). Nothing is left behind on failure: the
 * init is killed, the cgroup and the state directory are removed.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { detectHost, newCgroupManager, type CgroupManager } from '../cgroups';
import { containerExists, FailedPreconditionError, InvalidArgumentError } from '../errors';
import { log, trace } from '../logging';
import { buildCreatePlan, idMapText, SyncPoint } from '../plan/create-plan';
import { planNamespaces } from '../plan/namespaces';
import { runHooks } from '../process/hooks';
import { fdLayout, runPlan, type StdioEntry } from '../process/spawn-init';
import { compileSeccomp, seccompDisabled } from '../seccomp/compile';
import { loadSpec } from '../spec/load';
import { OCI_VERSION } from '../spec/types';
import { CGROUP_PATHS_FILE, Container, EXEC_FIFO, validateId } from './container';
import { lockContainer } from './lock';
import { processStartTime, processState } from './proc';
import { writeFileAtomic } from '../atomic-file';
import type { ContainerState } from './state-file';

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Keep the first native process as the init's parent and report its exit (run, foreground). */
  waitForInit?: boolean;
  /** --systemd-cgroup (refused clearly: berth has the cgroupfs driver only). */
  systemdCgroup?: boolean;
  /** The container's stdio (default: the runtime's own, as runc's); a library caller passes its pipes. */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
}

export interface Created {
  container: Container;
  /** With waitForInit: the init's exit status (code, or 128+signal). */
  exited: Promise<number>;
}

export async function createContainer(opts: CreateOptions): Promise<Created> {
  trace('timing', 'create: begin');
  validateId(opts.id);
  const { spec, bundle, rootfs } = loadSpec(opts.bundle);
  trace('timing', 'create: spec loaded and validated');
  const process_ = spec.process!;
  if (opts.consoleSocket && !process_.terminal) {
    throw new InvalidArgumentError('cannot use console socket if runc will not detach or allocate tty');
  }
  fs.mkdirSync(opts.root, { recursive: true, mode: 0o700 });
  const release = await lockContainer(opts.root, opts.id);
  const dir = path.join(opts.root, opts.id);
  let dirMade = false;
  let initPid = 0;
  let cgroup: CgroupManager | undefined;
  let consoleConn: net.Socket | undefined;
  let listenerConn: net.Socket | undefined;
  try {
    if (fs.existsSync(dir)) throw containerExists();
    fs.mkdirSync(dir, { mode: 0o711 });
    dirMade = true;

    const host = detectHost();
    const cg = newCgroupManager(
      {
        id: opts.id,
        cgroupsPath: spec.linux?.cgroupsPath,
        resources: spec.linux?.resources,
        linuxDevices: spec.linux?.devices,
        systemd: opts.systemdCgroup,
        warn: (msg, fields) => log.warn(msg, fields),
      },
      host,
    );
    cgroup = cg;
    const rootless = process.geteuid?.() !== 0;
    // The directories come first, before any process exists. Without root, as
    // runc's rootless mode: a cgroup that cannot be created is done without,
    // unless the config asks for limits.
    let cgroupPaths = cg.paths();
    fs.writeFileSync(path.join(dir, CGROUP_PATHS_FILE), JSON.stringify(cgroupPaths));
    try {
      cg.create();
    } catch (err) {
      if (!rootless || !isPermissionError(err)) throw err;
      if (hasLimits(spec.linux?.resources)) {
        throw new FailedPreconditionError('cannot set cgroup limits without root: the cgroup cannot be created (no delegation to this user)', { cause: err });
      }
      log.debug('rootless: running without a cgroup', { err: err as Error });
      cgroup = undefined;
      cgroupPaths = {};
    }
    const cgroupActive = cgroup !== undefined;
    if (process_.terminal && opts.consoleSocket) consoleConn = await connectUnix(opts.consoleSocket, 'console socket');
    const seccomp = spec.linux?.seccomp && !seccompDisabled(spec.linux.seccomp) ? compileSeccomp(spec.linux.seccomp) : undefined;
    if (seccomp?.ignoredSyscalls.length) log.debug('seccomp: unknown syscalls ignored', { syscalls: seccomp.ignoredSyscalls.join(',') });
    if (seccomp?.needsListener) listenerConn = await connectUnix(spec.linux!.seccomp!.listenerPath!, 'seccomp listener');
    const extraFds = [consoleConn, listenerConn].filter((s): s is net.Socket => !!s);
    const layout = fdLayout(opts.preserveFds ?? 0, extraFds.length);
    const ns = planNamespaces(spec);
    const plan = buildCreatePlan({
      id: opts.id,
      spec,
      bundle,
      rootfs,
      fifoPath: path.join(dir, EXEC_FIFO),
      consoleFd: consoleConn ? layout.extra[0] : undefined,
      seccomp: seccomp && {
        program: seccomp.program,
        flags: seccomp.flags,
        listenerFd: listenerConn ? layout.extra[extraFds.indexOf(listenerConn)] : null,
      },
      noPivot: !!opts.noPivot,
      noNewKeyring: !!opts.noNewKeyring,
      preserveFds: opts.preserveFds ?? 0,
      cgroupPaths,
      cgroupHost: host,
      waitForInit: !!opts.waitForInit,
      rootless,
    });

    trace('timing', 'create: plan built');
    const state: ContainerState = {
      id: opts.id,
      bundle,
      rootfs,
      pid: 0,
      pidStartTime: 0,
      created: new Date().toISOString(),
      owner: '',
      config: spec,
      cgroupPaths,
      namespacePaths: Object.fromEntries(ns.join.map((n) => [n.type, n.path!])),
      rootless,
      noNewKeyring: !!opts.noNewKeyring,
    };
    const container = new Container(opts.root, dir, state);

    const running = runPlan({
      plan,
      stdio: opts.stdio,
      preserveFds: opts.preserveFds,
      extraFds,
      onPid: (pid) => {
        initPid = pid;
        state.pid = pid;
        state.pidStartTime = processStartTime(pid);
      },
      onSync: (name, pid) => {
        trace('timing', `create: sync ${name}`);
        switch (name) {
          case SyncPoint.Setup:
            if (ns.newUser) writeIdMaps(pid, spec.linux!, rootless);
            if (cgroupActive) {
              cg.apply(pid);
              // Devices are always set, even to []: without rules the container would get every device.
              cg.set({ ...spec.linux?.resources, devices: spec.linux?.resources?.devices ?? [] });
            }
            return '';
          case SyncPoint.CreateRuntime: {
            const s = container.hookState('creating');
            runHooks('prestart', spec.hooks?.prestart, s);
            runHooks('createRuntime', spec.hooks?.createRuntime, s);
            return JSON.stringify(s);
          }
          case SyncPoint.Ready:
            container.save();
            if (opts.pidFile) writeFileAtomic(path.resolve(opts.pidFile), String(state.pid), 0o644);
            return JSON.stringify(container.hookState('created'));
          case SyncPoint.Seccomp:
            // runtime-spec "containerProcessState", what a seccomp agent receives with the fd.
            return JSON.stringify({
              ociVersion: OCI_VERSION,
              fds: ['seccompFd'],
              pid: state.pid,
              metadata: spec.linux?.seccomp?.listenerMetadata ?? '',
              state: container.hookState('creating'),
            });
          default:
            throw new InvalidArgumentError(`unexpected sync point ${name}`);
        }
      },
    });
    try {
      await running.done;
    } finally {
      consoleConn?.destroy();
      listenerConn?.destroy();
    }
    trace('timing', 'create: init waits on the fifo');
    // The init closed the sync socket at WAIT_FIFO; with waitForInit it may also have run and exited since.
    log.debug('container created', { id: opts.id, pid: state.pid });
    return { container, exited: running.exited };
  } catch (err) {
    consoleConn?.destroy();
    listenerConn?.destroy();
    if (initPid > 0) await killAndWait(initPid);
    try {
      cgroup?.destroy();
    } catch (e) {
      log.warn('failed to remove cgroup', { err: e });
    }
    if (dirMade) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    release();
  }
}

export function connectUnix(socketPath: string, what: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', (err) => reject(new InvalidArgumentError(`failed to connect to the ${what} ${socketPath}: ${err.message}`, { cause: err })));
  });
}

/** Written by the parent before the child goes on (the kernel allows one write per map). */
function writeIdMaps(pid: number, linux: NonNullable<import('../spec/types').Spec['linux']>, rootless: boolean): void {
  if (rootless) fs.writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  fs.writeFileSync(`/proc/${pid}/uid_map`, idMapText(linux.uidMappings ?? []));
  fs.writeFileSync(`/proc/${pid}/gid_map`, idMapText(linux.gidMappings ?? []));
}

function isPermissionError(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') return true;
  }
  return false;
}

/** Whether linux.resources asks for any limit (device rules alone are not a limit). */
function hasLimits(r: import('../spec/types').LinuxResources | undefined): boolean {
  return !!r && Object.entries(r).some(([k, v]) => k !== 'devices' && v !== undefined && !(typeof v === 'object' && Object.keys(v as object).length === 0));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SIGKILL and wait (bounded) until the process is gone or a zombie of someone else. */
export async function killAndWait(pid: number, timeoutMs = 5000): Promise<void> {
  const start = processStartTime(pid);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const st = processStartTime(pid);
    if (st !== start) return;
    if (processState(pid) === 'Z') return;
    await sleep(2);
  }
}
