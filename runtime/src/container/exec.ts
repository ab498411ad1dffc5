/**
 * exec: run a new process in a running container (runc exec). The process
 * comes from --process (a runtime-spec Process) or from the container's own
 * process with the command line's overrides, as runc's getProcess.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../proto/src/errdefs';
import { log, trace } from '../logging';
import { buildExecPlan } from '../plan/exec-plan';
import { SyncPoint } from '../plan/create-plan';
import { fdLayout, runPlan, type StdioEntry } from '../process/spawn-init';
import { compileSeccomp, seccompDisabled } from '../seccomp/compile';
import { OCI_VERSION, type Process } from '../spec/types';
import { Container } from './container';
import { connectUnix } from './create';
import { writeFileAtomic } from '../atomic-file';

export interface ExecOptions {
  root: string;
  id: string;
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  detach: boolean;
  preserveFds: number;
  ignorePaused: boolean;
  /** The process's stdio (default: the runtime's own); a library caller passes its pipes. */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
}

export interface Execed {
  pid: number;
  /** Without detach: the process's exit status (code, or 128+signal). */
  exited: Promise<number>;
}

export async function execInContainer(opts: ExecOptions): Promise<Execed> {
  const c = Container.load(opts.root, opts.id);
  const status = c.status();
  if (status === 'stopped') throw new FailedPreconditionError('cannot exec in a stopped container');
  if (status === 'paused' && !opts.ignorePaused) throw new FailedPreconditionError('cannot exec in a paused container (use --ignore-paused to override)');
  const p = opts.process;
  if (opts.consoleSocket && !p.terminal) throw new InvalidArgumentError('cannot use console socket if runc will not detach or allocate tty');
  const seccompCfg = c.state.config.linux?.seccomp;
  const seccomp = seccompCfg && !seccompDisabled(seccompCfg) ? compileSeccomp(seccompCfg) : undefined;

  const sockets: net.Socket[] = [];
  try {
    const consoleConn = p.terminal && opts.consoleSocket ? await connectUnix(opts.consoleSocket, 'console socket') : undefined;
    if (consoleConn) sockets.push(consoleConn);
    const listenerConn = seccomp?.needsListener ? await connectUnix(seccompCfg!.listenerPath!, 'seccomp listener') : undefined;
    if (listenerConn) sockets.push(listenerConn);
    const layout = fdLayout(opts.preserveFds, sockets.length);
    const plan = buildExecPlan({
      id: c.id,
      config: c.state.config,
      initPid: c.state.pid,
      namespacePaths: c.state.namespacePaths,
      process: p,
      consoleFd: consoleConn ? layout.extra[sockets.indexOf(consoleConn)] : undefined,
      seccomp: seccomp && {
        program: seccomp.program,
        flags: seccomp.flags,
        listenerFd: listenerConn ? layout.extra[sockets.indexOf(listenerConn)] : null,
      },
      preserveFds: opts.preserveFds,
      wait: !opts.detach,
      noNewKeyring: !!c.state.noNewKeyring,
      rootless: c.state.rootless,
    });
    let pid = 0;
    const cg = c.cgroup();
    const running = runPlan({
      plan,
      stdio: opts.stdio,
      preserveFds: opts.preserveFds,
      extraFds: sockets,
      onPid: (n) => (pid = n),
      onSync: (name, stage0) => {
        trace('timing', `exec: sync ${name}`);
        if (name === SyncPoint.Setup) {
          cg.apply(stage0);
          return '';
        }
        if (name === SyncPoint.Seccomp) {
          return JSON.stringify({ ociVersion: OCI_VERSION, fds: ['seccompFd'], pid, metadata: seccompCfg?.listenerMetadata ?? '', state: c.hookState('running') });
        }
        throw new InvalidArgumentError(`unexpected sync point ${name}`);
      },
    });
    // The sync socket closes at execve (close-on-exec): the process runs.
    await running.done;
    if (opts.pidFile) writeFileAtomic(path.resolve(opts.pidFile), String(pid), 0o644);
    log.debug('process executed in container', { id: c.id, pid });
    return { pid, exited: running.exited };
  } finally {
    for (const s of sockets) s.destroy();
  }
}

/** runc's getProcess for the flags case: the container's process, with overrides. */
export interface ProcessOverrides {
  args: string[];
  cwd?: string;
  env: string[];
  tty: boolean;
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
}

export function processFromFlags(base: Process, o: ProcessOverrides): Process {
  const p: Process = structuredClone(base);
  p.args = o.args;
  if (o.cwd) p.cwd = o.cwd;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  if (o.caps.length > 0) {
    p.capabilities ??= {};
    for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) {
      p.capabilities[set] = [...(p.capabilities[set] ?? []), ...o.caps];
    }
  }
  p.env = [...(p.env ?? []), ...o.env];
  p.terminal = o.tty;
  if (o.noNewPrivs !== undefined) p.noNewPrivileges = o.noNewPrivs;
  if (o.user) {
    const [u, g] = o.user.split(':', 2);
    if (g !== undefined) {
      if (!/^\d+$/.test(g)) throw new InvalidArgumentError(`parsing ${g} as int for gid failed`);
      p.user.gid = Number(g);
    }
    if (!/^\d+$/.test(u)) throw new InvalidArgumentError(`parsing ${u} as int for uid failed`);
    p.user.uid = Number(u);
  }
  for (const gid of o.additionalGids) {
    if (gid < 0) throw new InvalidArgumentError(`additional-gids must be a positive number ${gid}`);
    p.user.additionalGids = [...(p.user.additionalGids ?? []), gid];
  }
  return p;
}

/** --process FILE: a runtime-spec Process as JSON. */
export function processFromFile(file: string): Process {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the process from ${file}: ${(err as Error).message}`, { cause: err });
  }
  const p = doc as Process;
  if (!p || typeof p !== 'object' || !p.user || typeof p.cwd !== 'string') {
    throw new InvalidArgumentError(`${file}: not a runtime-spec process (user and cwd are required)`);
  }
  if (!Array.isArray(p.args) || p.args.length === 0) throw new InvalidArgumentError('args must not be empty');
  if (!path.isAbsolute(p.cwd)) throw new InvalidArgumentError('cwd must be an absolute path');
  return p;
}
