/**
 * Running a plan: start berth-nsexec with the plan on one pipe, a sync socket
 * and a log pipe, answer its SYNC requests, forward its logs, and turn its
 * error report into a SyscallError.
 *
 *   runtime (Node)                        berth-nsexec
 *   ──────────────                        ────────────
 *   spawn ─ plan bytes ─────────────────▶ read plan
 *                        ◀── {"type":"sync","name":"setup","pid"} (stage 0)
 *   id maps, cgroup ──── reply ─────────▶
 *                        ◀── {"type":"pid","pid":N}   (after FORK)
 *                        ◀── {"type":"sync","name":"createRuntime"}
 *   hooks ────────────── reply: state ──▶ createContainer hooks, pivot_root …
 *                        ◀── {"type":"sync","name":"ready"}
 *   state.json ───────── reply: state ──▶ … identity, lookup
 *                        ◀── EOF (WAIT_FIFO closed the socket)   ⇒ created
 *   any time             ◀── {"type":"error","step","kind","errno","path","detail"}
 *
 * Fds in the child: 0-2 stdio, 3..3+P-1 the caller's preserved fds, then the
 * extra fds (console socket, seccomp listener), then plan, sync and log.
 */
import { spawn, type ChildProcess, type IOType } from 'node:child_process';
import type { Stream } from 'node:stream';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { InternalError } from '../../../proto/src/errdefs';
import { SyscallError } from '../errors';
import { log, trace } from '../logging';
import { encodePlan, type Plan } from './plan';

/** One of the child's stdio: inherit, ignore, a pipe, a stream, or a file descriptor. */
export type StdioEntry = IOType | 'ipc' | Stream | number | null | undefined;

export type SyncMessage =
  | { type: 'sync'; name: string; pid: number }
  | { type: 'report'; name: string; pid: number }
  | { type: 'pid'; pid: number }
  | { type: 'error'; step: number; kind: string; errno: number; path: string; detail: string };

export interface FdLayout {
  /** How many of the caller's fds (from 3) the container keeps. */
  preserved: number;
  /** Child fd numbers of the extra fds, in the order given. */
  extra: number[];
  plan: number;
  sync: number;
  log: number;
}

/** Where each of the child's fds comes from. */
export function fdLayout(preserved: number, extraCount: number): FdLayout {
  const extra = Array.from({ length: extraCount }, (_, i) => 3 + preserved + i);
  const plan = 3 + preserved + extraCount;
  return { preserved, extra, plan, sync: plan + 1, log: plan + 2 };
}

let nativeCache: string | undefined;

/** The berth-nsexec binary: $BERTH_NSEXEC, next to the bundle (dist/), or dist/ from the source tree. */
export function nativeBinary(): string {
  if (nativeCache) return nativeCache;
  const candidates = [
    process.env.BERTH_NSEXEC,
    path.join(__dirname, 'berth-nsexec'),
    path.resolve(__dirname, '../../../dist/berth-nsexec'),
  ];
  for (const c of candidates) {
    if (c && fs.existsSync(c)) return (nativeCache = c);
  }
  throw new InternalError(`berth-nsexec not found (looked in ${candidates.filter(Boolean).join(', ')}); run make build`);
}

export interface RunPlanOptions {
  plan: Plan;
  /** stdio 0-2 of the child (default: inherit). */
  stdio?: [StdioEntry, StdioEntry, StdioEntry];
  /** Number of the caller's fds from 3 up to pass through (--preserve-fds). */
  preserveFds?: number;
  /** Extra fds or sockets, placed after the preserved ones (see fdLayout). */
  extraFds?: (number | Socket)[];
  /** Answers a SYNC step; the returned bytes are the reply. */
  onSync?: (name: string, pid: number) => Promise<Buffer | string> | Buffer | string;
  onPid?: (pid: number) => void;
  onReport?: (name: string, pid: number) => void;
}

export interface RunningPlan {
  child: ChildProcess;
  /** Resolves when the sync socket closes (the plan reached WAIT_FIFO, exec, or exit) without error. */
  done: Promise<void>;
  /** Resolves with the native process's exit (code, or 128+signal). */
  exited: Promise<number>;
}

/** Starts berth-nsexec on a plan. The caller awaits `done` (and/or `exited`). */
export function runPlan(opts: RunPlanOptions): RunningPlan {
  const preserved = opts.preserveFds ?? 0;
  const extra = opts.extraFds ?? [];
  const layout = fdLayout(preserved, extra.length);
  const stdio: StdioEntry[] = [...(opts.stdio ?? ['inherit', 'inherit', 'inherit'])];
  for (let i = 0; i < preserved; i++) stdio.push(3 + i);
  for (const e of extra) stdio.push(e);
  stdio.push('pipe', 'pipe', 'pipe'); // plan, sync (a socketpair in libuv), log

  trace('timing', 'spawn berth-nsexec');
  const child = spawn(nativeBinary(), ['init', String(layout.plan), String(layout.sync), String(layout.log)], {
    stdio,
    argv0: 'berth-nsexec',
  });
  trace('timing', 'spawned');
  const planPipe = child.stdio[layout.plan] as Writable;
  const sync = child.stdio[layout.sync] as Socket;
  const logs = child.stdio[layout.log] as Readable;

  planPipe.on('error', () => undefined); // the child may die before reading it all
  planPipe.end(encodePlan(opts.plan));
  forwardLogs(logs);

  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
  });

  const done = new Promise<void>((resolve, reject) => {
    let buffered = '';
    let failed: Error | undefined;
    let chain = Promise.resolve();
    sync.setEncoding('utf8');
    sync.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        let msg: SyncMessage;
        try {
          msg = JSON.parse(line) as SyncMessage;
        } catch {
          // Fail now: berth-nsexec may be waiting for a reply to what was in that line,
          // and closing the socket is what makes it give up (EOF → exit).
          failed ??= new InternalError(`berth-nsexec sent an unreadable message: ${line.slice(0, 200)}`);
          sync.destroy();
          return;
        }
        // Messages are handled one at a time, in order: a reply may take a while (hooks).
        chain = chain.then(() => handle(msg)).catch((err: Error) => {
          failed ??= err;
          sync.destroy();
        });
      }
    });
    const handle = async (msg: SyncMessage): Promise<void> => {
      if (failed) return;
      switch (msg.type) {
        case 'pid':
          opts.onPid?.(msg.pid);
          return;
        case 'report':
          opts.onReport?.(msg.name, msg.pid);
          return;
        case 'error': {
          const s = opts.plan[msg.step];
          failed = new SyscallError(msg.kind, msg.errno, msg.path, s?.why ?? msg.kind, msg.detail);
          return;
        }
        case 'sync': {
          const reply = Buffer.from((await opts.onSync?.(msg.name, msg.pid)) ?? '');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(reply.length);
          if (!sync.destroyed) sync.write(Buffer.concat([len, reply]));
          return;
        }
      }
    };
    sync.on('error', () => undefined);
    sync.on('close', () => {
      chain.then(() => (failed ? reject(failed) : resolve()), reject);
    });
  });
  return { child, done, exited };
}

function forwardLogs(stream: Readable): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const { level, msg } = JSON.parse(line) as { level: string; msg: string };
        if (level === 'error') log.debug(`nsexec: ${msg}`);
        else log.debug(`nsexec: ${msg}`);
      } catch {
        log.debug('nsexec: unreadable log line', { line });
      }
    }
  });
  stream.on('error', () => undefined);
}

const signals: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSYS: 31,
};

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? signals[signal] ?? 0 : 0;
}
