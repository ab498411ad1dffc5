/**
 * binary:// logging (containerd pkg/process/io.go NewBinaryIO): a logging
 * binary reads the container's stdout and stderr pipes on its fds 3 and 4
 * and signals readiness by writing to (or closing) fd 5. It gets only
 * CONTAINER_ID and CONTAINER_NAMESPACE in its environment, and the URI's
 * query as arguments ("?k=v" → "k v").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import type { ControlChannel } from '../native/channel';
import type { RuntimeIO } from '../runtime-client';
import { closeQuietly, makePipe, type Pipe } from './pipe';
import type { ProcessIO } from './process-io';

/** How long the logger gets to flush after SIGTERM (binaryIOProcTermTimeout). */
const TERM_TIMEOUT_MS = 12_000;

/** The logger's command line from a binary:// URI. */
export function binaryCommand(uri: string): { path: string; args: string[] } {
  const u = new URL(uri);
  const args: string[] = [];
  for (const [k, v] of u.searchParams) {
    args.push(k);
    if (v !== '') args.push(v);
  }
  return { path: decodeURIComponent(u.pathname), args };
}

/** Starts the logger on `out`/`err` read ends and waits until it is ready. */
export async function startLogger(uri: string, id: string, namespace: string, out: number, err: number, native: ControlChannel): Promise<ChildProcess> {
  const { path, args } = binaryCommand(uri);
  const ready = await makePipe(native, 'out');
  let child: ChildProcess;
  try {
    child = spawn(path, args, {
      stdio: ['ignore', 'ignore', 'ignore', out, err, ready.w],
      env: { CONTAINER_ID: id, CONTAINER_NAMESPACE: namespace },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`failed to start logging binary ${path}: ${e.message}`)));
      child.once('spawn', resolve);
    });
  } catch (e) {
    closeQuietly(ready.r);
    closeQuietly(ready.w);
    throw e;
  }
  closeQuietly(ready.w);
  const r = new net.Socket({ fd: ready.r, readable: true, writable: false });
  await new Promise<void>((resolve) => {
    const done = (): void => { r.destroy(); resolve(); };
    r.once('data', done);
    r.once('end', done);
    r.once('error', done);
    child.once('exit', done);
  });
  return child;
}

/** SIGTERM, then SIGKILL after the grace period, without blocking the caller. */
export function stopLogger(child: ChildProcess | undefined): void {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), TERM_TIMEOUT_MS);
  t.unref();
  child.once('exit', () => clearTimeout(t));
}

export class BinaryIO implements ProcessIO {
  private out?: Pipe;
  private err?: Pipe;
  private logger?: ChildProcess;

  static async create(native: ControlChannel, uri: string, id: string, namespace: string): Promise<BinaryIO> {
    const io = new BinaryIO();
    try {
      io.out = await makePipe(native, 'out');
      io.err = await makePipe(native, 'out');
      io.logger = await startLogger(uri, id, namespace, io.out.r, io.err.r, native);
      // the logger holds the read ends
      closeQuietly(io.out.r);
      closeQuietly(io.err.r);
      io.out.r = io.err.r = -1;
    } catch (e) {
      io.close();
      throw e;
    }
    return io;
  }

  runtimeIO(): RuntimeIO {
    return { stdout: this.out?.w, stderr: this.err?.w };
  }

  async start(): Promise<void> {
    // The container holds the write ends: the logger sees EOF when it exits.
    for (const p of [this.out, this.err]) {
      if (p && p.w >= 0) {
        closeQuietly(p.w);
        p.w = -1;
      }
    }
  }

  closeStdin(): void {}
  async exited(): Promise<void> {}
  async wait(): Promise<void> {}
  async resize(): Promise<void> {}

  close(): void {
    for (const p of [this.out, this.err]) {
      if (!p) continue;
      closeQuietly(p.r);
      closeQuietly(p.w);
      p.r = p.w = -1;
    }
    stopLogger(this.logger);
  }
}
