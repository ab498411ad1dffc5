/**
 * The control channel to the native parent (`berth-nsexec shim-reaper`,
 * runtime/native/shim.c): exit reports come up, requests go down.
 *
 * Messages both ways are a u32 little-endian length followed by that many
 * bytes of NUL-terminated string fields:
 *
 *   shim (Node)                                   shim-reaper (C)
 *     pipe TAG                             ─────▶   pipe2(2)
 *                              ok TAG R W  ◀─────   (Node opens /proc/PID/fd/R and W)
 *     pipe-close TAG R W                   ─────▶   close both
 *     console TAG CTAG SOCK RELAY          ─────▶   listen on SOCK for a pty master
 *     resize TAG CTAG COLS ROWS            ─────▶   TIOCSWINSZ
 *     console-close TAG CTAG               ─────▶   drain the master, close
 *     stash TAG NAME FD WATCH              ─────▶   keep a copy of our FD (hibernation)
 *     unstash TAG                          ─────▶   drop the copies
 *     hibernate TAG                        ─────▶   we exit next: keep them, sleep
 *     oom-watch TAG NAME v1|v2 DIR         ─────▶   watch a memory cgroup for OOMs
 *     oom-unwatch TAG NAME                 ─────▶   stop
 *                              ok TAG      ◀─────
 *                              err TAG ERRNO
 *                              exit PID WAITSTATUS SEC NSEC   (any reaped child)
 *                              console-closed CTAG ERRNO      (a relay ended)
 *                              oom NAME                       (NAME's watch fired)
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as os from 'node:os';
import type { Timestamp } from '../timestamp';

export interface ExitRecord {
  pid: number;
  /** The raw wait(2) status. */
  status: number;
  /** When the reaper reaped it. */
  exitedAt: Timestamp;
}

export class NativeError extends Error {
  constructor(readonly op: string, readonly errno: number, detail: string) {
    super(`${op} ${detail}: ${errnoName(errno)}`);
    this.name = 'NativeError';
  }
}

/** "EBUSY" for 16, as errors from the C helper are reported by number. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os.constants.errno)) {
    if (value === errno) return name;
  }
  return `errno ${errno}`;
}

export interface ControlChannel extends EventEmitter {
  on(event: 'exit', fn: (e: ExitRecord) => void): this;
  on(event: 'console-closed', fn: (ctag: string, errno: number) => void): this;
  on(event: 'oom', fn: (name: string) => void): this;
  on(event: 'close', fn: () => void): this;
}

export class ControlChannel extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private seq = 0;
  private readonly waiting = new Map<string, { resolve: (values: string[]) => void; reject: (e: Error) => void; what: string }>();

  /** @param reaperPid the reaper's pid, whose /proc/PID/fd holds the pipes it makes */
  constructor(private readonly sock: net.Socket, readonly reaperPid: number) {
    super();
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('the shim reaper is gone'));
      this.waiting.clear();
      this.emit('close');
    });
  }

  /** Opens the channel on an inherited fd. */
  static fromFd(fd: number, reaperPid: number): ControlChannel {
    return new ControlChannel(new net.Socket({ fd, readable: true, writable: true }), reaperPid);
  }

  /** A pipe held by the reaper: the fd numbers of its read and write ends in the reaper. */
  async pipe(): Promise<{ r: number; w: number }> {
    const [r, w] = await this.request('pipe', [], 'pipe');
    return { r: Number(r), w: Number(w) };
  }

  async pipeClose(r: number, w: number): Promise<void> {
    await this.request('pipe-close', [String(r), String(w)], 'pipe');
  }

  /** Asks the reaper to take the pty master sent on `socketPath` and relay it to `relayPath`. */
  async console(ctag: string, socketPath: string, relayPath: string): Promise<void> {
    await this.request('console', [ctag, socketPath, relayPath], socketPath);
  }

  async resize(ctag: string, cols: number, rows: number): Promise<void> {
    await this.request('resize', [ctag, String(cols), String(rows)], ctag);
  }

  async consoleClose(ctag: string): Promise<void> {
    await this.request('console-close', [ctag], ctag);
  }

  /**
   * Hands a copy of one of our fds to the reaper (pidfd_getfd) under `name`,
   * for the next server; `watch`: wake the next server when it is readable.
   */
  async stash(name: string, fd: number, watch: boolean): Promise<void> {
    await this.request('stash', [name, String(fd), watch ? '1' : '0'], name);
  }

  /** Drops every stashed copy (a hibernation given up). */
  async unstash(): Promise<void> {
    await this.request('unstash', [], 'stash');
  }

  /** Tells the reaper that we exit next to hibernate: it keeps the stash and runs a new server when needed. */
  async hibernate(): Promise<void> {
    await this.request('hibernate', [], 'hibernate');
  }

  /**
   * Has the reaper watch a memory cgroup directory for the OOM killer, as
   * `name` (a watch of that name is replaced); it reports 'oom' events, also
   * waking a hibernated server for them. v2 reports only a rise of
   * memory.events' oom_kill; v1 any memory.oom_control notification, and the
   * cgroup's removal.
   */
  async oomWatch(name: string, kind: 'v1' | 'v2', dir: string): Promise<void> {
    await this.request('oom-watch', [name, kind, dir], dir);
  }

  async oomUnwatch(name: string): Promise<void> {
    await this.request('oom-unwatch', [name], name);
  }

  /** Stops reading (lets the process exit) without closing. */
  unref(): void {
    this.sock.unref();
  }

  private request(op: string, args: string[], what: string): Promise<string[]> {
    const tag = String(++this.seq);
    return new Promise<string[]>((resolve, reject) => {
      this.waiting.set(tag, { resolve, reject, what });
      this.sock.write(encode([op, tag, ...args]));
    }).catch((err: Error & { errno?: number }) => {
      throw err.errno !== undefined ? new NativeError(op, err.errno, what) : err;
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (this.buf.length < 4 + len) break;
      const fields = this.buf.toString('utf8', 4, 4 + len).split('\0');
      fields.pop(); // after the last terminator
      this.buf = this.buf.subarray(4 + len);
      this.dispatch(fields);
    }
  }

  private dispatch(f: string[]): void {
    switch (f[0]) {
      case 'ok':
      case 'err': {
        const w = this.waiting.get(f[1]);
        if (!w) return;
        this.waiting.delete(f[1]);
        if (f[0] === 'ok') w.resolve(f.slice(2));
        else w.reject(Object.assign(new Error(w.what), { errno: Number(f[2]) }));
        return;
      }
      case 'exit':
        this.emit('exit', {
          pid: Number(f[1]),
          status: Number(f[2]),
          exitedAt: { seconds: Number(f[3]), nanos: Number(f[4]) },
        } satisfies ExitRecord);
        return;
      case 'console-closed':
        this.emit('console-closed', f[1], Number(f[2]));
        return;
      case 'oom':
        this.emit('oom', f[1]);
        return;
    }
  }
}

export function encode(fields: string[]): Buffer {
  const body = Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * The exit status containerd reports for a wait(2) status: the exit code, or
 * 128 + the signal for a process killed by a signal (go-runc exitStatus,
 * conmon ctr_exit.c).
 */
export function exitStatus(waitStatus: number): number {
  const sig = waitStatus & 0x7f;
  if (sig === 0) return (waitStatus >> 8) & 0xff;
  return 128 + sig;
}
