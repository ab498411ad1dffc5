/**
 * PipeIO: pipes between the container and the shim, copied to the FIFOs
 * containerd gave (or into one file for file://), like containerd's
 * runc.NewPipeIO + copyPipes.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ControlChannel } from '../native/channel';
import type { RuntimeIO } from '../runtime-client';
import { openOutput, openStdin, type StdinFifo } from './fifo';
import { closeQuietly, makePipe, type Pipe } from './pipe';
import { within, type ProcessIO, type Stdio } from './process-io';

type Writable = net.Socket | fs.WriteStream;

/** Closes an fd we own; returns -1 to store in its place. */
function release(fd: number): number {
  closeQuietly(fd);
  return -1;
}

export class PipeIO implements ProcessIO {
  private stdinPipe?: Pipe;
  private outPipe?: Pipe;
  private errPipe?: Pipe;
  private stdinFifo?: StdinFifo;
  private outDest?: Writable;
  private errDest?: Writable;
  private readonly streams: (net.Socket | fs.WriteStream)[] = [];
  private copies: Promise<void>[] = [];

  private constructor() {}

  /**
   * Makes the pipes and opens the destinations now, so that a bad path fails
   * the create before the runtime runs. `file` makes stdout and stderr append
   * to one regular file (file://).
   */
  static async create(native: ControlChannel, stdio: Stdio, uid: number, gid: number, file?: string): Promise<PipeIO> {
    const io = new PipeIO();
    try {
      if (stdio.stdin) io.stdinPipe = await makePipe(native, 'in', uid, gid);
      if (stdio.stdout) io.outPipe = await makePipe(native, 'out', uid, gid);
      if (stdio.stderr) io.errPipe = await makePipe(native, 'out', uid, gid);
      if (file) {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
        fs.closeSync(fs.openSync(file, 'a', 0o644));
        const shared = openOutput(file);
        io.outDest = io.errDest = shared;
        io.streams.push(shared);
      } else {
        if (stdio.stdout) io.streams.push((io.outDest = openOutput(stdio.stdout)));
        if (stdio.stderr) io.streams.push((io.errDest = openOutput(stdio.stderr)));
      }
      if (stdio.stdin) io.stdinFifo = openStdin(stdio.stdin);
    } catch (err) {
      io.close();
      throw new Error(`failed to create process I/O: ${(err as Error).message}`, { cause: err });
    }
    return io;
  }

  runtimeIO(): RuntimeIO {
    return { stdin: this.stdinPipe?.r, stdout: this.outPipe?.w, stderr: this.errPipe?.w };
  }

  async start(): Promise<void> {
    // The runtime and the container hold their ends now.
    if (this.stdinPipe) this.stdinPipe.r = release(this.stdinPipe.r);
    if (this.outPipe) this.outPipe.w = release(this.outPipe.w);
    if (this.errPipe) this.errPipe.w = release(this.errPipe.w);
    const shared = this.outDest && this.outDest === this.errDest;
    let open = shared ? (this.outPipe ? 1 : 0) + (this.errPipe ? 1 : 0) : 1;
    const copy = (pipe: Pipe | undefined, dest: Writable | undefined): void => {
      if (!pipe || !dest) return;
      const src = new net.Socket({ fd: pipe.r, readable: true, writable: false });
      pipe.r = -1; // owned by the socket now
      this.streams.push(src);
      this.copies.push(new Promise<void>((resolve) => {
        src.on('error', () => src.destroy());
        src.pipe(dest, { end: false });
        src.on('close', () => {
          src.unpipe(dest);
          if (!shared || --open === 0) dest.end(resolve);
          else resolve();
        });
        dest.on('error', () => resolve());
      }));
    };
    copy(this.outPipe, this.outDest);
    copy(this.errPipe, this.errDest);
    if (this.stdinPipe && this.stdinFifo) {
      const sink = new net.Socket({ fd: this.stdinPipe.w, readable: false, writable: true });
      this.stdinPipe.w = -1;
      this.streams.push(sink, this.stdinFifo.stream);
      sink.on('error', () => sink.destroy());
      this.stdinFifo.stream.on('error', () => this.stdinFifo?.stream.destroy());
      this.stdinFifo.stream.pipe(sink);
    }
  }

  closeStdin(): void {
    if (this.stdinFifo && this.stdinFifo.keepAlive >= 0) {
      closeQuietly(this.stdinFifo.keepAlive);
      this.stdinFifo.keepAlive = -1;
    }
  }

  async exited(): Promise<void> {
    // Pipes end by themselves when the last writer (the process and any
    // child it left behind) closes them.
  }

  wait(ms: number): Promise<void> {
    return within(Promise.all(this.copies).then(() => undefined), ms);
  }

  async resize(): Promise<void> {}

  close(): void {
    this.closeStdin();
    for (const s of this.streams) s.destroy();
    for (const p of [this.stdinPipe, this.outPipe, this.errPipe]) {
      if (!p) continue;
      p.r = release(p.r);
      p.w = release(p.w);
    }
    this.stdinPipe = this.outPipe = this.errPipe = undefined;
  }
}
