/**
 * The shim's log (containerd runtime/v2/shim_unix.go openShimLog): a FIFO
 * named `log` in the bundle that the shim writes its stderr to. The daemon
 * holds it open read-write (so a shim never blocks or sees EPIPE while the
 * daemon restarts) and forwards each line into its own log.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Logger } from '../daemon/logging';
import { mkfifo } from '../snapshots/fsutil/special';
import { LOG_FIFO, type Bundle } from './bundle';

const { O_RDWR, O_NONBLOCK } = fs.constants;
const O_CLOEXEC = 0o2000000;

/** logrus levels (text `level=` or JSON `"level":`) → the daemon's. */
function levelOf(line: string): 'error' | 'warn' | 'info' | 'debug' {
  const m = /(?:^|\s)level=(\w+)|"level"\s*:\s*"(\w+)"/.exec(line);
  switch ((m?.[1] ?? m?.[2] ?? '').toLowerCase()) {
    case 'error':
    case 'fatal':
    case 'panic':
      return 'error';
    case 'warn':
    case 'warning':
      return 'warn';
    case 'debug':
    case 'trace':
      return 'debug';
    default:
      return 'info';
  }
}

/**
 * One FIFO made ahead of time, renamed into the next bundle: making one
 * costs a process (Node has no mkfifo), which should not be on the way of
 * every task create. The spare lives in the state dir (same filesystem).
 */
export class FifoPool {
  private filling: Promise<void> | undefined;

  constructor(private readonly spare: string) {}

  /** Puts a FIFO at `file`: the spare if there is one, else a new one. */
  async take(file: string): Promise<void> {
    let ok = false;
    try {
      fs.renameSync(this.spare, file);
      ok = fs.statSync(file).isFIFO();
      if (!ok) fs.rmSync(file, { force: true }); // not ours
    } catch {
      // none spare (taken by a concurrent create, or not made yet)
    }
    if (!ok) await mkfifo(file, 0o700);
    this.refill();
  }

  /** Resolves once the spare is being made no more (for tests). */
  async settled(): Promise<void> {
    await this.filling;
  }

  refill(): void {
    this.filling ??= mkfifo(this.spare, 0o700)
      .catch(() => undefined) // exists already, or the next take makes its own
      .finally(() => (this.filling = undefined));
  }
}

export class ShimLog {
  private constructor(private readonly sock: net.Socket) {}

  /** Creates the FIFO when missing and starts forwarding what the shim writes. */
  static async open(bundle: Bundle, log: Logger, pool?: FifoPool): Promise<ShimLog> {
    const file = path.join(bundle.path, LOG_FIFO);
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFIFO()) {
      fs.rmSync(file, { force: true });
      if (pool) await pool.take(file);
      else await mkfifo(file, 0o700);
    }
    const fd = fs.openSync(file, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    const sock = new net.Socket({ fd, readable: true, writable: false });
    let rest = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line.trim()) log.log(levelOf(line), 'shim log', { line });
    });
    sock.on('error', (err) => log.debug('shim log closed', { err: err.message }));
    return new ShimLog(sock);
  }

  close(): void {
    this.sock.destroy();
  }
}
