/**
 * A process's stdio on the client side (containerd's cio with FIFOs): a
 * private directory with `<id>-stdin`, `-stdout`, `-stderr` FIFOs whose paths
 * go in Create/Exec, and this process's stdio copied to and from them.
 *
 * No open ever blocks: stdout/stderr are opened O_RDONLY|O_NONBLOCK with a
 * keep-alive writer of our own, so a read does not see EOF before the shim
 * has opened its end; ready() drops the keep-alive once the shim has (after
 * Create or Start), and the streams end when the shim closes them. stdin is
 * opened O_RDWR (never waits for the shim); when our input has ended and the
 * shim has opened its end, it is closed and the caller sends CloseIO.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { mkfifo } from '../snapshots/fsutil/special';

const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK } = fs.constants;
const O_CLOEXEC = 0o2000000;

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** Where FIFO directories go: /run/berth/fifo (as ctr's /run/containerd/fifo) or the temp dir. */
function fifoRoot(): string {
  const dir = process.env.BERTH_FIFO_DIR ?? '/run/berth/fifo';
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
    return dir;
  } catch {
    return os.tmpdir();
  }
}

export class FifoIO {
  private readonly streams: net.Socket[] = [];
  private keepAlive: number[] = [];
  private readonly outputs: Promise<void>[] = [];
  private stdinSock?: net.Socket;
  private shimReady = false;
  private finishInput?: () => void;

  private constructor(
    readonly dir: string,
    readonly paths: StdioPaths,
  ) {}

  /**
   * Makes the FIFOs for process `id`: stdin when `stdin`, stdout always,
   * stderr unless `terminal` (a terminal has one output stream).
   */
  static async create(id: string, opts: { stdin: boolean; terminal: boolean }): Promise<FifoIO> {
    const dir = fs.mkdtempSync(path.join(fifoRoot(), `${id}-`));
    const paths: StdioPaths = {
      stdin: opts.stdin ? path.join(dir, `${id}-stdin`) : '',
      stdout: path.join(dir, `${id}-stdout`),
      stderr: opts.terminal ? '' : path.join(dir, `${id}-stderr`),
      terminal: opts.terminal,
    };
    try {
      await mkfifo([paths.stdin, paths.stdout, paths.stderr].filter(Boolean), 0o700);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new FifoIO(dir, paths);
  }

  /**
   * Opens our ends and starts copying: `input` into stdin (onInputEnd runs
   * when it ends), stdout and stderr into the given streams. Call before
   * the Create/Exec that hands the paths to the shim.
   */
  attach(streams: { input?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; onInputEnd?: () => void }): void {
    const out = (p: string, dest: NodeJS.WritableStream) => {
      if (!p) return;
      const fd = fs.openSync(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      this.keepAlive.push(fs.openSync(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      const s = new net.Socket({ fd, readable: true, writable: false });
      this.streams.push(s);
      this.outputs.push(
        new Promise((resolve) => {
          s.on('data', (d: Buffer) => dest.write(d));
          s.once('end', () => resolve());
          s.once('close', () => resolve());
          s.once('error', () => resolve());
        }),
      );
    };
    out(this.paths.stdout, streams.stdout);
    out(this.paths.stderr, streams.stderr);
    if (this.paths.stdin) {
      const fd = fs.openSync(this.paths.stdin, O_RDWR | O_NONBLOCK | O_CLOEXEC);
      const s = new net.Socket({ fd, readable: false, writable: true });
      s.on('error', () => undefined); // the process may be gone: its input no longer matters
      this.stdinSock = s;
      this.streams.push(s);
      if (streams.input) {
        streams.input.on('data', (d: Buffer) => s.write(d));
        // The FIFO's buffered bytes live only while some end is open: ours
        // stays open until the shim has opened its end (ready()).
        streams.input.once('end', () => {
          this.finishInput = () => s.end(() => streams.onInputEnd?.());
          if (this.shimReady) this.finishInput();
        });
      }
    }
  }

  /** The shim has opened its ends: drop our keep-alive writers so that its close ends our streams. */
  ready(): void {
    for (const fd of this.keepAlive) fs.closeSync(fd);
    this.keepAlive = [];
    if (!this.shimReady) {
      this.shimReady = true;
      this.finishInput?.();
    }
  }

  /** Resolves when both outputs have ended (or after `timeoutMs`). */
  async drained(timeoutMs: number): Promise<void> {
    this.ready();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.outputs), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    if (timer) clearTimeout(timer);
  }

  /** Closes every stream and removes the FIFOs. */
  close(): void {
    this.ready();
    this.stdinSock?.destroy();
    for (const s of this.streams) s.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
