/**
 * Running a task's process in the foreground, as ctr run / ctr tasks exec
 * do: FIFOs for its stdio, Wait asked before Start (so no exit is missed),
 * the terminal put in raw mode and its size sent with ResizePty (again on
 * every SIGWINCH), or, without a terminal, signals forwarded with Kill;
 * stdin's end turned into CloseIO; the exit status returned once the
 * output has drained.
 */
import * as os from 'node:os';
import type { Client } from '../client/client';
import { FifoIO, type StdioPaths } from './task-io';

export interface AttachOptions {
  containerId: string;
  /** '' for the init. */
  execId: string;
  terminal: boolean;
  /** Makes the process (Create or Exec) with these stdio paths. */
  create: (io: StdioPaths) => Promise<void>;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const DRAIN_TIMEOUT_MS = 5_000;

export async function runAttached(c: Client, o: AttachOptions): Promise<number> {
  const proc = { containerId: o.containerId, execId: o.execId };
  const io = await FifoIO.create(o.execId || o.containerId, { stdin: true, terminal: o.terminal });
  const stdin = process.stdin;
  const raw = o.terminal && stdin.isTTY;
  const handlers: [NodeJS.Signals, () => void][] = [];
  const closeIO = () => void c.call('tasks', 'CloseIO', { ...proc, stdin: true }).catch(() => undefined);
  const onResize = () => void c.call('tasks', 'ResizePty', { ...proc, width: process.stdout.columns, height: process.stdout.rows }).catch(() => undefined);
  try {
    if (raw) stdin.setRawMode(true);
    io.attach({
      input: stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      onInputEnd: closeIO, // after Start: ready() holds the end back until then
    });
    await o.create(io.paths);
    const waiting = c.call('tasks', 'Wait', proc);
    waiting.catch(() => undefined); // awaited below; a failed Start must not leave it unhandled
    await c.call('tasks', 'Start', proc);
    io.ready();
    if (o.terminal && process.stdout.isTTY) {
      onResize();
      process.stdout.on('resize', onResize);
    } else if (!o.terminal) {
      for (const sig of FORWARDED) {
        const h = () => void c.call('tasks', 'Kill', { ...proc, signal: os.constants.signals[sig], all: false }).catch(() => undefined);
        process.on(sig, h);
        handlers.push([sig, h]);
      }
    }
    const { exitStatus } = await waiting;
    await io.drained(DRAIN_TIMEOUT_MS);
    return exitStatus;
  } finally {
    process.stdout.off('resize', onResize);
    for (const [sig, h] of handlers) process.off(sig, h);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    io.close();
  }
}
