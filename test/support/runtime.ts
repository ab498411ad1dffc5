/**
 * Running the runtime under test: berth-runtime from dist/, or the peer named
 * by BERTH_RUNTIME (e.g. BERTH_RUNTIME=runc) to prove a test encodes real
 * runc behaviour.
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { track } from './cleanup';
import { repoRoot } from './repo';

const repo = repoRoot();

export function runtimeBinary(): string {
  const peer = process.env.BERTH_RUNTIME;
  if (peer) return peer;
  const bin = path.join(repo, 'dist/bin/berth-runtime');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make build first`);
  return bin;
}

export const isPeer = () => !!process.env.BERTH_RUNTIME;

export interface Result {
  status: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The error message of a failed command: runc prints logrus text
 * (time="…" level=error msg="…") to stderr, or the bare message with --log.
 */
export function errorMessage(stderr: string): string {
  const m = /level=error msg=("(?:[^"\\]|\\.)*")/.exec(stderr);
  return m ? (JSON.parse(m[1]) as string) : stderr.trim();
}

export class Runtime {
  constructor(readonly root: string) {}

  args(args: string[]): string[] {
    return ['--root', this.root, ...args];
  }

  /**
   * Runs the runtime and waits for it to exit. Output goes through temp files,
   * not pipes: a container inherits the runtime's stdio, and a pipe it holds
   * open would keep spawnSync waiting for EOF for the container's whole life.
   */
  run(args: string[], opts: SpawnSyncOptions = {}): Result {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-out-'));
    const out = fs.openSync(path.join(dir, 'out'), 'w+');
    const err = fs.openSync(path.join(dir, 'err'), 'w+');
    try {
      const r = spawnSync(runtimeBinary(), this.args(args), { timeout: 60_000, killSignal: 'SIGKILL', stdio: ['ignore', out, err], ...opts });
      if (r.error) {
        // jest prints the stack, which has the message as it was made: a new error carries the report
        if ((r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') throw new Error(`berth-runtime ${args.join(' ')}: ${r.error.message}; what is left of it:\n${hangReport()}`);
        throw r.error;
      }
      return {
        status: r.status ?? -1,
        signal: r.signal,
        stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'),
        stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8'),
      };
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs and expects exit 0, else throws with the output. */
  ok(args: string[], opts: SpawnSyncOptions = {}): Result {
    const r = this.run(args, opts);
    if (r.status !== 0) throw new Error(`runtime ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
    return r;
  }

  state(id: string): { status: string; pid: number; bundle: string; id: string; annotations?: Record<string, string> } {
    return JSON.parse(this.ok(['state', id]).stdout);
  }

  /** Registers a container for forced deletion at cleanup. */
  track(id: string): string {
    track.add(() => {
      this.run(['delete', '--force', id]);
    });
    return id;
  }

  /** Starts `run` in the background, e.g. for signals. */
  spawn(args: string[]) {
    const child = spawn(runtimeBinary(), this.args(args), { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) track.pid(child.pid);
    return child;
  }
}

/** What every berth process is blocked on (a hung runtime leaves this in the failure message). */
export function hangReport(): string {
  const lines: string[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (!/berth|nsexec/.test(cmd)) continue;
      const wchan = fs.readFileSync(`/proc/${p}/wchan`, 'utf8');
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fds = fs.readdirSync(`/proc/${p}/fd`).map((fd) => `${fd}->${safeReadlink(`/proc/${p}/fd/${fd}`)}`).join(' ');
      lines.push(`${p} ppid=${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]} state=${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]} wchan=${wchan} ${cmd.slice(0, 120)}\n    fds: ${fds}`);
    } catch {
      // gone
    }
  }
  return lines.join('\n');
}

function safeReadlink(p: string): string {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '?';
  }
}
