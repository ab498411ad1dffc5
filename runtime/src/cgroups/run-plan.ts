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
 * this one stays small on purpose; both share nativeBinary() and SyscallError.
 */
import { spawnSync } from 'node:child_process';
import { InternalError } from '../../../proto/src/errdefs';
import { SyscallError } from '../errors';
import { encodePlan, type Plan } from '../process/plan';
import { nativeBinary } from '../process/spawn-init';

/** What the C reported about the step that failed. */
interface StepFailure {
  step: number;
  kind: string;
  errno: number;
  path: string;
  detail: string;
}

export interface RunPlanResult {
  /** The log lines the C wrote (logrus-shaped JSON objects). */
  logs: Array<Record<string, unknown>>;
}

/** Runs plan to completion in a fresh berth-nsexec; throws SyscallError naming the failed step. */
export function runPlanSync(plan: Plan, opts: { timeoutMs?: number } = {}): RunPlanResult {
  const bin = nativeBinary();
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
      throw new SyscallError(f.kind, f.errno, f.path, plan[f.step]?.why ?? f.kind, f.detail);
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
