/**
 * The shim's driver for the OCI runtime: a typed interface over a
 * runc-compatible runtime (go-runc's runc.go), with one implementation that
 * runs the CLI (`RuncCli`: berth-runtime, runc, crun, ... as BinaryName).
 * An in-process implementation of berth-runtime can implement the same
 * interface later, without a Node start-up per operation.
 *
 * Errors carry the runtime's own last error message, read from its JSON log
 * (containerd's getLastRuntimeError), because the shim's callers match on
 * runc's wording ("container does not exist", "container not running").
 */
import { spawn, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Process as OciProcess, LinuxResources } from '../../runtime/src/spec/types';

/** File descriptors to hand to the runtime as its (and so the container's) stdio. */
export interface RuntimeIO {
  stdin?: number;
  stdout?: number;
  stderr?: number;
}

export interface CreateOpts {
  bundle: string;
  pidFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  io?: RuntimeIO;
}

export interface ExecOpts {
  pidFile: string;
  consoleSocket?: string;
  io?: RuntimeIO;
}

/** `runc state` output. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface RuntimeConfig {
  /** The runtime binary (BinaryName): a path or a name on $PATH. */
  binary: string;
  /** --root: the runtime's state directory (namespace already appended). */
  root: string;
  /** --log: a JSON log file, the source of error messages. */
  log: string;
  systemdCgroup?: boolean;
  debug?: boolean;
  /** Where `exec --process` files are written (default: os tmpdir). */
  tmpDir?: string;
}

/** What the shim needs from an OCI runtime. */
export interface RuntimeClient {
  readonly config: RuntimeConfig;
  create(id: string, opts: CreateOpts): Promise<void>;
  start(id: string): Promise<void>;
  exec(id: string, process: OciProcess, opts: ExecOpts): Promise<void>;
  kill(id: string, signal: number, opts?: { all?: boolean }): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  state(id: string): Promise<ContainerState>;
  ps(id: string): Promise<number[]>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  update(id: string, resources: LinuxResources): Promise<void>;
}

/** A runtime command that failed: its exit status, output and last logged error. */
export class RuntimeError extends Error {
  constructor(
    readonly command: string,
    readonly exitStatus: number | null,
    readonly output: string,
    /** The last `level: error` message of the runtime's JSON log, or "". */
    readonly runtimeMessage: string,
  ) {
    super(runtimeMessage || `${command}: exit status ${exitStatus}${output ? `: ${output.trim()}` : ''}`);
    this.name = 'RuntimeError';
  }
}

/** The last error message in a logrus-shaped JSON log (containerd's getLastRuntimeError). */
export function lastRuntimeError(logPath: string): string {
  let text: string;
  try {
    text = fs.readFileSync(logPath, 'utf8');
  } catch {
    return '';
  }
  let msg = '';
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' && typeof entry.msg === 'string') msg = entry.msg.trim();
    } catch {
      // a torn line: ignore, as a json.Decoder would stop there
    }
  }
  return msg;
}

/** The CLI implementation: one runtime process per operation. */
export class RuncCli implements RuntimeClient {
  constructor(readonly config: RuntimeConfig) {}

  private globalArgs(): string[] {
    const a = ['--root', this.config.root, '--log', this.config.log, '--log-format', 'json'];
    if (this.config.systemdCgroup) a.push('--systemd-cgroup');
    if (this.config.debug) a.push('--debug');
    return a;
  }

  async create(id: string, o: CreateOpts): Promise<void> {
    const args = ['create', '--bundle', o.bundle, '--pid-file', path.resolve(o.pidFile)];
    if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
    if (o.noPivot) args.push('--no-pivot');
    if (o.noNewKeyring) args.push('--no-new-keyring');
    await this.run([...args, id], o.io ?? {});
  }

  async start(id: string): Promise<void> {
    await this.run(['start', id]);
  }

  async exec(id: string, process: OciProcess, o: ExecOpts): Promise<void> {
    const dir = this.config.tmpDir ?? os.tmpdir();
    const file = path.join(dir, `runc-process-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(process), { mode: 0o600 });
    try {
      const args = ['exec', '--process', file, '--detach', '--pid-file', path.resolve(o.pidFile)];
      if (o.consoleSocket) args.push('--console-socket', o.consoleSocket);
      await this.run([...args, id], o.io ?? {});
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  async kill(id: string, signal: number, o: { all?: boolean } = {}): Promise<void> {
    await this.run(['kill', ...(o.all ? ['--all'] : []), id, String(signal)]);
  }

  async delete(id: string, o: { force?: boolean } = {}): Promise<void> {
    await this.run(['delete', ...(o.force ? ['--force'] : []), id]);
  }

  async state(id: string): Promise<ContainerState> {
    return JSON.parse(await this.run(['state', id], undefined, false)) as ContainerState;
  }

  async ps(id: string): Promise<number[]> {
    const out = await this.run(['ps', '--format', 'json', id], undefined, false);
    return (JSON.parse(out) as number[] | null) ?? [];
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  async update(id: string, resources: LinuxResources): Promise<void> {
    await this.run(['update', '--resources', '-', id], undefined, true, JSON.stringify(resources));
  }

  /**
   * Runs one runtime command. With `io`, the given fds become the runtime's
   * stdio (and the container's); without, its output is captured for errors
   * (stdout only when `combined` is false, as go-runc's cmdOutput).
   */
  private run(args: string[], io?: RuntimeIO, combined = true, input?: string): Promise<string> {
    const full = [...this.globalArgs(), ...args];
    const stdio: StdioOptions = io
      ? [io.stdin ?? 'ignore', io.stdout ?? 'ignore', io.stderr ?? 'ignore']
      : [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.binary, full, { stdio });
      let out = '';
      let errOut = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => { errOut += d; });
      if (input !== undefined) child.stdin?.end(input);
      child.once('error', (err) => reject(new RuntimeError(`${this.config.binary} ${args[0]}`, null, err.message, '')));
      child.once('close', (code, signal) => {
        if (code === 0) return resolve(out);
        const status = code ?? 128 + (signal ? os.constants.signals[signal] : 0);
        const output = combined ? out + errOut : errOut;
        reject(new RuntimeError(`${path.basename(this.config.binary)} ${args[0]}`, status, output, lastRuntimeError(this.config.log)));
      });
    });
  }
}

/**
 * The client for a runtime binary: berth-runtime runs in-process
 * (runtime-library.ts, loaded only then, so a shim driving runc never loads
 * the runtime's code); any other binary through its CLI.
 * BERTH_SHIM_RUNTIME_CLI=1 forces the CLI for berth-runtime too.
 */
export function runtimeClient(config: RuntimeConfig): RuntimeClient {
  if (path.basename(config.binary) !== 'berth-runtime' || process.env.BERTH_SHIM_RUNTIME_CLI === '1') return new RuncCli(config);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require('./runtime-library') as typeof import('./runtime-library');
  return new lib.RuntimeLibrary(config);
}
