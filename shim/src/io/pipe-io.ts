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

/** What a hibernating PipeIO keeps in the shim's state file; its fds go to the reaper by name. */
export interface PipeIOState {
  /** file://: stdout and stderr append to this one file. */
  file?: string;
}

/** One fd to hand over to the reaper while the server sleeps. */
export interface HandOver {
  name: string;
  fd: number;
  /** Wake the server when it is readable (or hangs up). */
  watch: boolean;
}

/** The fd under a net.Socket or fs.WriteStream (libuv's pipe handle keeps it as .fd). */
export function fdOf(s: net.Socket | fs.WriteStream | undefined): number {
  if (!s || s.destroyed) return -1;
  if (s instanceof fs.WriteStream) {
    const fd = (s as unknown as { fd?: unknown }).fd;
    return typeof fd === 'number' ? fd : -1;
  }
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

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
  private outSrc?: net.Socket;
  private errSrc?: net.Socket;
  private stdinSink?: net.Socket;
  private file?: string;
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
        io.file = file;
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
    const source = (pipe: Pipe | undefined): net.Socket | undefined => {
      if (!pipe || pipe.r < 0) return undefined;
      const src = new net.Socket({ fd: pipe.r, readable: true, writable: false });
      pipe.r = -1; // owned by the socket now
      return src;
    };
    this.outSrc = this.outDest ? source(this.outPipe) : undefined;
    this.errSrc = this.errDest ? source(this.errPipe) : undefined;
    if (this.stdinPipe && this.stdinFifo) {
      this.stdinSink = new net.Socket({ fd: this.stdinPipe.w, readable: false, writable: true });
      this.stdinPipe.w = -1;
    }
    this.copy();
  }

  /** Copies the output sources to their destinations and stdin to the sink, until each ends. */
  private copy(): void {
    const shared = this.outDest && this.outDest === this.errDest;
    let open = shared ? (this.outSrc ? 1 : 0) + (this.errSrc ? 1 : 0) : 1;
    const copy = (src: net.Socket | undefined, dest: Writable | undefined): void => {
      if (!src || !dest) return;
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
    copy(this.outSrc, this.outDest);
    copy(this.errSrc, this.errDest);
    const sink = this.stdinSink;
    if (sink && this.stdinFifo) {
      this.streams.push(sink, this.stdinFifo.stream);
      sink.on('error', () => sink.destroy());
      this.stdinFifo.stream.on('error', () => this.stdinFifo?.stream.destroy());
      this.stdinFifo.stream.pipe(sink);
    }
  }

  /**
   * Hibernation: stops copying and returns the fds that carry on the copies
   * (named under `prefix`) and the state to resume them from, or undefined
   * (copying on) while bytes are in flight in the shim — e.g. a FIFO nobody
   * reads holding back output. The sources are watched: output or a
   * hang-up wakes the next server.
   */
  hibernate(prefix: string): { state: PipeIOState; fds: HandOver[] } | undefined {
    for (const src of this.sources()) src.pause();
    if (!this.quiet()) {
      this.wake();
      return undefined;
    }
    const fds: HandOver[] = [];
    const add = (name: string, fd: number, watch: boolean): void => {
      if (fd >= 0) fds.push({ name: `${prefix}.${name}`, fd, watch });
    };
    const out = fdOf(this.outSrc);
    const err = fdOf(this.errSrc);
    add('out', out, true);
    add('err', err, true);
    // A destination goes along while a source still copies into it.
    if (this.outDest === this.errDest) {
      if (out >= 0 || err >= 0) add('outdest', fdOf(this.outDest), false);
    } else {
      if (out >= 0) add('outdest', fdOf(this.outDest), false);
      if (err >= 0) add('errdest', fdOf(this.errDest), false);
    }
    if (this.stdinFifo && !this.stdinFifo.stream.destroyed) {
      add('in', fdOf(this.stdinFifo.stream), true);
      add('inkeep', this.stdinFifo.keepAlive, false);
      add('insink', fdOf(this.stdinSink), false);
    }
    return { state: { file: this.file }, fds };
  }

  /** Nothing read and not yet written, nothing buffered to write. */
  quiet(): boolean {
    const dests = [this.outDest, this.errDest, this.stdinSink].filter((x): x is Writable => !!x && !x.destroyed);
    return this.sources().every((x) => x.readableLength === 0) && dests.every((x) => x.writableLength === 0 && !x.writableNeedDrain);
  }

  /** Copies on (a hibernation given up). */
  wake(): void {
    for (const src of this.sources()) src.resume();
  }

  /** The streams still copying from: container output, client stdin. */
  private sources(): net.Socket[] {
    return [this.outSrc, this.errSrc, this.stdinFifo?.stream].filter((x): x is net.Socket => !!x && !x.destroyed);
  }

  /** A PipeIO whose copies a previous server began, from the fds it handed over (`fd(name)`). */
  static resume(state: PipeIOState, prefix: string, fd: (name: string) => number | undefined): PipeIO {
    const io = new PipeIO();
    io.file = state.file;
    const get = (name: string): number => fd(`${prefix}.${name}`) ?? -1;
    const reader = (n: number): net.Socket | undefined => (n >= 0 ? new net.Socket({ fd: n, readable: true, writable: false }) : undefined);
    const writer = (n: number): Writable | undefined => {
      if (n < 0) return undefined;
      return state.file ? fs.createWriteStream('', { fd: n }) : new net.Socket({ fd: n, readable: false, writable: true });
    };
    io.outSrc = reader(get('out'));
    io.errSrc = reader(get('err'));
    io.outDest = writer(get('outdest'));
    io.errDest = state.file ? io.outDest : writer(get('errdest'));
    for (const d of new Set([io.outDest, io.errDest])) if (d) io.streams.push(d);
    const stdin = reader(get('in'));
    if (stdin) {
      io.stdinFifo = { stream: stdin, keepAlive: get('inkeep') };
      const sink = get('insink');
      if (sink >= 0) io.stdinSink = new net.Socket({ fd: sink, readable: false, writable: true });
    }
    io.copy();
    return io;
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
