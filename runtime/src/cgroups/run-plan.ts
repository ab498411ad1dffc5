/**
 * Runs a short host-side plan (no namespaces, no container) with berth-nsexec
 * and waits for it: today only the v2 device filter (STEP_BPF_DEVICES), which
 * needs bpf(2), out of Node's reach.
 *
 * The child is started synchronously: `berth-nsexec init 0 3 4` with the plan
 * on stdin (spawnSync's `input`), the sync socket on fd 3 and the log pipe on
 * fd 4, both read back when it exits. On failure the C writes one line
 * {"type":"error","step":N,"kind":"bpf_devices","errno":E,"path":P,"detail":D}
 * to the sync fd and exits 1; that becomes a SyscallError here.
 *
 * The lifecycle has its own (asynchronous) spawner for the container's init;
 * this one stays small on purpose and may later share that code.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthError, InternalError, type ErrorKind } from '../../../proto/src/errdefs';
import { encodePlan, type Plan } from '../process/plan';

/** What the C reported about the step that failed. */
export interface StepFailure {
  step: number;
  kind: string;
  errno: number;
  path: string;
  detail: string;
}

const errnoNames = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n as number, name]));

function kindForErrno(name: string | undefined): ErrorKind {
  switch (name) {
    case 'EINVAL':
    case 'E2BIG':
      return 'InvalidArgument';
    case 'ENOENT':
      return 'NotFound';
    case 'EPERM':
    case 'EACCES':
      return 'PermissionDenied';
    case 'ENOSYS':
    case 'EOPNOTSUPP':
      return 'NotImplemented';
    default:
      return 'Internal';
  }
}

/** A step of a plan failed: names the step, the errno and the quoted path (STYLE §2.4). */
export class SyscallError extends BerthError {
  readonly failure: StepFailure;
  readonly errnoName: string;
  constructor(failure: StepFailure, why?: string) {
    const name = errnoNames.get(failure.errno) ?? `errno ${failure.errno}`;
    const where = failure.path ? ` \`${failure.path}\`` : '';
    const detail = failure.detail ? ` (${failure.detail})` : '';
    super(kindForErrno(name), `failed to ${why ?? failure.kind}${where}: ${failure.kind}: ${name}${detail}`);
    this.failure = failure;
    this.errnoName = name;
  }
}

/** Where berth-nsexec is: $BERTH_NSEXEC, next to the bundle (dist/), or the build output of a checkout. */
export function nsexecPath(): string {
  const candidates = [
    process.env.BERTH_NSEXEC,
    path.join(__dirname, 'berth-nsexec'),
    path.resolve(__dirname, '../../../dist/berth-nsexec'),
  ].filter((p): p is string => !!p);
  for (const p of candidates) {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new InternalError(`cannot find berth-nsexec (looked at ${candidates.join(', ')}); run \`make native\` or set BERTH_NSEXEC`);
}

export interface RunPlanResult {
  /** The log lines the C wrote (logrus-shaped JSON objects). */
  logs: Array<Record<string, unknown>>;
}

/** Runs plan to completion in a fresh berth-nsexec; throws SyscallError naming the failed step. */
export function runPlanSync(plan: Plan, opts: { timeoutMs?: number } = {}): RunPlanResult {
  const bin = nsexecPath();
  const res = spawnSync(bin, ['init', '0', '3', '4'], {
    input: encodePlan(plan),
    stdio: ['pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 10_000,
    killSignal: 'SIGKILL',
  });
  const text = (i: number): string => (res.output?.[i] ? res.output[i]!.toString('utf8') : '');
  const logs = parseLines(text(4));
  if (res.error) throw new InternalError(`failed to run ${bin}: ${res.error.message}`, { cause: res.error });
  if (res.status === 0) return { logs };
  for (const msg of parseLines(text(3))) {
    if (msg.type === 'error') {
      const f = msg as unknown as StepFailure;
      throw new SyscallError(f, plan[f.step]?.why);
    }
  }
  const how = res.signal ? `was killed by ${res.signal}` : `exited with status ${res.status}`;
  throw new InternalError(`berth-nsexec ${how} without reporting an error${text(2) ? `: ${text(2).trim()}` : ''}`);
}

function parseLines(s: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of s.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      out.push({ level: 'warning', msg: line });
    }
  }
  return out;
}
