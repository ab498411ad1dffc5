/**
 * ConsoleIO: a terminal (containerd runtime/v2/runc/platform.go CopyConsole).
 *
 * The runtime sends the pty master over --console-socket; Node cannot
 * receive an fd, so the native parent listens on that socket, takes the
 * master and relays its bytes to a unix socket this module listens on.
 * From there it is plain streams: relay → stdout FIFO (or a binary://
 * logger), stdin FIFO → relay. When stdin ends, or the process exits, the
 * console is shut down; the native side drains the master first.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { ControlChannel } from '../native/channel';
import type { RuntimeIO } from '../runtime-client';
import { startLogger, stopLogger } from './binary';
import { openOutput, openStdin, type StdinFifo } from './fifo';
import { closeQuietly, makePipe } from './pipe';
import { scheme, within, type ProcessIO, type Stdio } from './process-io';

/** How long the runtime's master may take to arrive once it returned. */
const MASTER_TIMEOUT_MS = 30_000;
let seq = 0;

export class ConsoleIO implements ProcessIO {
  readonly consoleSocket: string;
  private readonly relayPath: string;
  private readonly ctag: string;
  private server?: net.Server;
  private relay?: net.Socket;
  private connected: Promise<net.Socket>;
  private stdinFifo?: StdinFifo;
  private logger?: ChildProcess;
  private copied: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly native: ControlChannel, dir: string, private readonly stdio: Stdio,
    private readonly id: string, private readonly namespace: string) {
    this.ctag = `c${process.pid}-${++seq}`;
    this.consoleSocket = path.join(dir, `${this.ctag}.sock`);
    this.relayPath = path.join(dir, `${this.ctag}.relay`);
    this.connected = new Promise(() => undefined);
  }

  static async create(native: ControlChannel, dir: string, stdio: Stdio, id: string, namespace: string): Promise<ConsoleIO> {
    const io = new ConsoleIO(native, dir, stdio, id, namespace);
    try {
      const server = net.createServer();
      io.server = server;
      io.connected = new Promise((resolve, reject) => {
        server.once('connection', resolve);
        server.once('error', reject);
      });
      io.connected.catch(() => undefined);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(io.relayPath, resolve);
      });
      await native.console(io.ctag, io.consoleSocket, io.relayPath);
    } catch (e) {
      io.close();
      throw new Error(`failed to create OCI runtime console socket: ${(e as Error).message}`, { cause: e });
    }
    return io;
  }

  runtimeIO(): RuntimeIO {
    return {};
  }

  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('failed to retrieve console master: timed out')), MASTER_TIMEOUT_MS);
    });
    try {
      this.relay = await Promise.race([this.connected, timeout]);
    } finally {
      clearTimeout(timer);
      this.server?.close(); // unlinks the relay path
      this.server = undefined;
      fs.rmSync(this.consoleSocket, { force: true });
    }
    const relay = this.relay;
    relay.on('error', () => relay.destroy());

    if (this.stdio.stdin) {
      this.stdinFifo = openStdin(this.stdio.stdin);
      const src = this.stdinFifo.stream;
      src.on('error', () => src.destroy());
      src.pipe(relay, { end: false });
      // stdin closed by the client: shut the console down, as containerd does
      src.on('end', () => void this.exited());
    }
    if (!this.stdio.stdout) {
      relay.resume();
      return;
    }
    if (scheme(this.stdio.stdout) === 'binary') {
      const out = await makePipe(this.native, 'out');
      const err = await makePipe(this.native, 'out');
      try {
        this.logger = await startLogger(this.stdio.stdout, this.id, this.namespace, out.r, err.r, this.native);
      } finally {
        closeQuietly(out.r);
        closeQuietly(err.r);
        closeQuietly(err.w);
      }
      const sink = new net.Socket({ fd: out.w, readable: false, writable: true });
      this.copied = pipeTo(relay, sink);
      return;
    }
    this.copied = pipeTo(relay, openOutput(this.stdio.stdout));
  }

  closeStdin(): void {
    if (this.stdinFifo && this.stdinFifo.keepAlive >= 0) {
      closeQuietly(this.stdinFifo.keepAlive);
      this.stdinFifo.keepAlive = -1;
    }
  }

  async exited(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.native.consoleClose(this.ctag).catch(() => undefined);
  }

  wait(ms: number): Promise<void> {
    return within(this.copied, ms);
  }

  async resize(cols: number, rows: number): Promise<void> {
    await this.native.resize(this.ctag, cols, rows);
  }

  close(): void {
    this.closeStdin();
    if (!this.closed) {
      this.closed = true;
      void this.native.consoleClose(this.ctag).catch(() => undefined);
    }
    this.server?.close();
    this.server = undefined;
    fs.rmSync(this.consoleSocket, { force: true });
    this.stdinFifo?.stream.destroy();
    this.relay?.destroy();
    stopLogger(this.logger);
  }
}

function pipeTo(src: net.Socket, dest: net.Socket | fs.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    dest.on('error', () => { src.unpipe(dest); src.resume(); resolve(); });
    src.pipe(dest, { end: false });
    src.on('close', () => dest.end(resolve));
  });
}
