/**
 * The shim binary (containerd runtime/v2/binary.go, shim/util.go): which
 * executable a runtime name stands for, its `start` action (prints the ttrpc
 * address of the long-lived shim) and its `delete` action (cleans up after a
 * shim that died and prints a DeleteResponse).
 *
 *   <binary> -namespace NS -address GRPC -publish-binary SELF -id ID start    (cwd: the bundle; options Any on stdin)
 *   <binary> -namespace NS -address GRPC -publish-binary SELF -id ID -bundle PATH delete
 *
 * Both get TTRPC_ADDRESS, where the shim forwards its task events.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../../proto/src/errdefs';
import { SHIM_BINARY_FILE, type Bundle } from './bundle';
import { encodeAny, taskRoot, type AnyMsg } from './protos';

export interface ShimBinaryConfig {
  /** The resolved executable. */
  binary: string;
  /** berthd's gRPC address (-address). */
  address: string;
  /** berthd's ttrpc address (TTRPC_ADDRESS). */
  ttrpcAddress: string;
  /** -publish-binary: what a shim would run to publish without TTRPC_ADDRESS. */
  publishBinary: string;
  debug: boolean;
}

/** A process's exit as the runtime reports it. */
export interface Exit {
  pid: number;
  status: number;
  exitedAt: { seconds: number; nanos: number };
}

/** io.containerd.runc.v2 → containerd-shim-runc-v2 (shim.BinaryName); '' when the name has no two dotted parts. */
export function binaryName(runtime: string): string {
  const parts = runtime.split('.');
  if (parts.length < 2) return '';
  return `containerd-shim-${parts[parts.length - 2]}-${parts[parts.length - 1]}`;
}

/**
 * Resolves runtime names to shim executables (resolveRuntimePath): an
 * absolute path as is; otherwise the named binary next to berthd (dist/bin),
 * then on PATH. Results are cached per name, as containerd does.
 */
export class RuntimePaths {
  private readonly cache = new Map<string, string>();

  constructor(private readonly dirs: string[]) {}

  resolve(runtime: string): string {
    if (!runtime) throw new InvalidArgumentError('no runtime name');
    if (path.isAbsolute(runtime)) {
      if (!isExecutable(runtime)) throw new NotFoundError(`invalid custom binary path: ${runtime}: not found`);
      return runtime;
    }
    const name = binaryName(runtime);
    if (!name) {
      throw new InvalidArgumentError(`invalid runtime name ${runtime}, correct runtime name should be either format like \`io.containerd.runc.v1\` or a full path to the binary`);
    }
    const hit = this.cache.get(name);
    if (hit) return hit;
    const search = [...this.dirs, ...(process.env.PATH ?? '').split(':').filter(Boolean)];
    for (const dir of search) {
      const p = path.resolve(dir, name);
      if (isExecutable(p)) {
        this.cache.set(name, p);
        return p;
      }
    }
    throw new NotFoundError(`runtime ${JSON.stringify(runtime)} binary not installed ${JSON.stringify(name)}: not found`);
  }
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

interface RunResult {
  /** The exit status, or "signal SIGx" when the process was killed. */
  code: number | string;
  stdout: Buffer;
  stderr: string;
}

/** Runs the shim binary with containerd's common arguments (shim.Command). */
function runShim(cfg: ShimBinaryConfig, bundle: Bundle, args: string[], stdin: Buffer | undefined, timeoutMs: number): Promise<RunResult> {
  const argv = ['-namespace', bundle.namespace, '-address', cfg.address, '-publish-binary', cfg.publishBinary, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cfg.binary, argv, {
      cwd: bundle.path,
      env: { ...process.env, GOMAXPROCS: '2', TTRPC_ADDRESS: cfg.ttrpcAddress },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? `signal ${signal}`, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin!.on('error', () => undefined); // a shim need not read its stdin
    child.stdin!.end(stdin ?? Buffer.alloc(0));
  });
}

const START_TIMEOUT_MS = 60_000;
const DELETE_TIMEOUT_MS = 30_000;

/** `start`: returns the ttrpc address the shim printed. */
export async function startShim(cfg: ShimBinaryConfig, bundle: Bundle, opts: AnyMsg | null): Promise<string> {
  const args = ['-id', bundle.id, ...(cfg.debug ? ['-debug'] : []), 'start'];
  const r = await runShim(cfg, bundle, args, opts ? encodeAny(opts) : undefined, START_TIMEOUT_MS);
  const stdout = r.stdout.toString('utf8').trim();
  if (r.code !== 0) {
    const output = [stdout, r.stderr.trim()].filter(Boolean).join('\n');
    throw new Error(`${output}${output ? ': ' : ''}${typeof r.code === 'number' ? `exit status ${r.code}` : r.code}`);
  }
  // the address is the last line: a shim may print warnings first
  const address = stdout.split('\n').pop()!.trim();
  if (!address) throw new Error(`${cfg.binary} start printed no address${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  fs.writeFileSync(path.join(bundle.path, SHIM_BINARY_FILE), cfg.binary, { mode: 0o600 });
  return address;
}

/** `delete`: the exit the shim's cleanup reports (the container was killed with the shim). */
export async function deleteShim(cfg: ShimBinaryConfig, bundle: Bundle): Promise<Exit & { warnings: string }> {
  const r = await runShim(cfg, bundle, ['-id', bundle.id, '-bundle', bundle.path, 'delete'], undefined, DELETE_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`${r.stderr.trim()}${r.stderr.trim() ? ': ' : ''}${typeof r.code === 'number' ? `exit status ${r.code}` : r.code}`);
  const t = taskRoot().lookupType('containerd.task.v2.DeleteResponse');
  const res = t.toObject(t.decode(r.stdout), { longs: Number, defaults: true }) as {
    pid: number;
    exitStatus: number;
    exitedAt: { seconds: number; nanos: number } | null;
  };
  return { pid: res.pid, status: res.exitStatus, exitedAt: res.exitedAt ?? { seconds: 0, nanos: 0 }, warnings: r.stderr.trim() };
}
