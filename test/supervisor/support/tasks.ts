/**
 * What the tasks tests share: berthd (or, with BERTH_DAEMON=containerd, a
 * private containerd) on a temp root/state/socket whose shims keep their
 * state in the same temp dir, a busybox root filesystem, a namespace of
 * their own, ctr and berthctl against it, and a cleanup that leaves no shim,
 * container, cgroup, mount or socket behind even after a failed test.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt as ensureShimBuilt, forceDelete } from '../../shim/helpers/containerd';
import { removeEmptyCgroups } from '../../support/cleanup';
import { berthctlJs, ensureBuilt, peerMode, repoRoot, startBerthd, startContainerd, type Daemon } from './daemon';

export const RUNTIMES = ['io.containerd.berth.v2', 'io.containerd.runc.v2'] as const;
export const PTY_RUN = path.join(repoRoot, 'test', 'shim', 'helpers', 'pty-run.py');
const DIST = path.join(repoRoot, 'dist');
const RUNC_ROOT = '/run/containerd/runc';

/** Why these tests cannot run here, or undefined. */
export function tasksSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['ctr', 'runc', 'containerd-shim-runc-v2', 'mkfifo', 'python3']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed`;
    }
  }
  if (!fs.existsSync('/bin/busybox')) return 'busybox-static is not installed';
  return undefined;
}

/** `describe`, or `describe.skip` with the reason in its name. */
export function describeTasks(name: string, fn: () => void): void {
  const reason = tasksSkipReason();
  if (reason) describe.skip(`${name} — skipped: ${reason}`, fn);
  else describe(name, fn);
}

/** The shim, the runtime and the native helper are built too, when older than their sources. */
function ensureStackBuilt(): void {
  ensureBuilt();
  ensureShimBuilt();
}

/** A busybox root filesystem (static busybox and its applets as links). */
export function makeRootfs(dir: string): string {
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'run']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return rootfs;
}

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  /** Closes stdin this long after start (ctr sends CloseIO only for an EOF after its task exists). */
  inputEndMs?: number;
  timeoutMs?: number;
}

function runCmd(cmd: string, args: string[], env: NodeJS.ProcessEnv, opts: RunOptions = {}): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string }) | null;
      const code = !e ? 0 : typeof e.code === 'number' ? e.code : e.signal ? 128 + (os.constants.signals[e.signal as NodeJS.Signals] ?? 0) : -1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin?.write(opts.input);
    const t = setTimeout(() => child.stdin?.end(), opts.inputEndMs ?? 0);
    child.once('exit', () => clearTimeout(t));
  });
}

export interface TaskEnv {
  dir: string;
  ns: string;
  rootfs: string;
  daemon: Daemon;
  env: NodeJS.ProcessEnv;
  ctr(args: string[], opts?: RunOptions): Promise<CmdResult>;
  ctrOk(args: string[], opts?: RunOptions): Promise<string>;
  berthctl(args: string[], opts?: RunOptions): Promise<CmdResult>;
  /** Runs `argv` on a new pseudo-terminal (pty-run.py) of rows × cols. */
  pty(argv: string[], opts?: { rows?: number; cols?: number; input?: string; inputAfter?: number }): Promise<CmdResult>;
  /** SIGKILLs the daemon and starts it again on the same root, state and socket. */
  restart(): Promise<void>;
  /** The task's bundle directory. */
  bundle(id: string): string;
  /** Pids of the shims this daemon started. */
  shimPids(): number[];
  cleanup(): Promise<void>;
}

export function listProcesses(): { pid: number; ppid: number; cmdline: string }[] {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(rest[1]), cmdline: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

const readdir = (d: string): string[] => {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
};

/** `env` is added to the daemon's environment (its shims inherit it). */
export async function startTaskEnv(opts: { env?: NodeJS.ProcessEnv } = {}): Promise<TaskEnv> {
  ensureStackBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-tasks-'));
  const ns = `tasks-${crypto.randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // containerd (peer mode) finds the berth shim here; berthd looks next to itself first
    PATH: `${path.join(DIST, 'bin')}:${path.dirname(process.execPath)}:${process.env.PATH}`,
    BERTH_SHIM_STATE_ROOT: path.join(dir, 'shim'),
    BERTH_SHIM_RUNTIME_ROOT: path.join(dir, 'runtime'),
    BERTH_FIFO_DIR: path.join(dir, 'fifo'),
    ...opts.env,
  };
  delete env.NODE_EXTRA_CA_CERTS; // costs every Node start ~200 ms; hosts do not set it
  const rootfs = makeRootfs(dir);
  const start = () => (peerMode ? startContainerd({ env, dir: path.join(dir, 'd') }) : startBerthd({ dir: path.join(dir, 'd'), env }));
  fs.mkdirSync(path.join(dir, 'd'));
  let daemon = await start();
  const self: TaskEnv = {
    dir,
    ns,
    rootfs,
    env,
    get daemon() {
      return daemon;
    },
    ctr: (args, opts) => runCmd('ctr', ['--address', daemon.address, '--namespace', ns, ...args], env, opts),
    ctrOk: async (args, opts) => {
      const r = await self.ctr(args, opts);
      if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    berthctl: (args, opts) => runCmd(process.execPath, [berthctlJs, '--address', daemon.address, '--namespace', ns, ...args], env, opts),
    pty: (argv, o = {}) => {
      const args = [PTY_RUN, ...(o.input !== undefined ? ['--input', o.input, '--input-after', String(o.inputAfter ?? 1.5)] : []), String(o.rows ?? 24), String(o.cols ?? 80), '--', ...argv];
      return runCmd('python3', args, env, { timeoutMs: 40_000 });
    },
    restart: async () => {
      await daemon.stop('SIGKILL');
      daemon = await start();
    },
    bundle: (id) => path.join(daemon.state, 'io.containerd.runtime.v2.task', ns, id),
    shimPids: () => listProcesses().filter((p) => p.cmdline.includes(`-address ${daemon.address} `) || p.cmdline.includes(`shim-reaper ${dir}/`)).map((p) => p.pid),
    cleanup: async () => {
      // containerd's runc shim keeps its socket at /run/containerd/s/sha256(<address>/<ns>/<id>) and
      // leaves it when killed: every task id the daemon logged is a candidate
      const sockets: string[] = [];
      let logged = '';
      try {
        logged = daemon.log();
      } catch {
        // no log
      }
      const ids = new Set([...logged.matchAll(/\bid="?([A-Za-z0-9][A-Za-z0-9._-]*)"?/g)].map((m) => m[1]));
      for (const id of readdir(path.join(daemon.state, 'io.containerd.runtime.v2.task', ns))) ids.add(id);
      for (const id of ids) {
        sockets.push(path.join('/run/containerd/s', crypto.createHash('sha256').update(path.join(daemon.address, ns, id)).digest('hex')));
      }
      // and whatever else still works in our directory (a runtime call a killed shim left, a container's init)
      const ours = (pid: number): boolean => {
        for (const link of ['cwd', 'root', ...readdir(`/proc/${pid}/fd`).map((f) => `fd/${f}`)]) {
          try {
            if (fs.readlinkSync(`/proc/${pid}/${link}`).startsWith(`${dir}/`)) return true;
          } catch {
            // gone, or not a path
          }
        }
        return false;
      };
      const stray = listProcesses().filter((p) => p.pid !== process.pid && (p.cmdline.includes(`${dir}/`) || ours(p.pid))).map((p) => p.pid);
      for (const pid of [...self.shimPids(), ...stray]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await daemon.stop('SIGKILL').catch(() => undefined);
      // the containers, through the runtimes' state (berth-runtime's, then runc's)
      for (const root of [path.join(dir, 'runtime', ns), path.join(RUNC_ROOT, ns)]) {
        for (const id of readdir(root)) forceDelete(root, id);
      }
      fs.rmSync(path.join(RUNC_ROOT, ns), { recursive: true, force: true });
      for (const s of sockets) fs.rmSync(s, { force: true });
      // the cgroups ctr's spec names /<ns>/<id> (v1 controllers, and the unified tree)
      const cgIds = new Set(readdir('/sys/fs/cgroup').flatMap((ctrl) => readdir(path.join('/sys/fs/cgroup', ctrl, ns))));
      removeEmptyCgroups(...[...cgIds].map((id) => `${ns}/${id}`), ns);
      // BERTH_TEST_LOG_DIR keeps the daemon's log (which has the shims' logs) for a post-mortem
      if (process.env.BERTH_TEST_LOG_DIR && logged) {
        fs.mkdirSync(process.env.BERTH_TEST_LOG_DIR, { recursive: true });
        fs.writeFileSync(path.join(process.env.BERTH_TEST_LOG_DIR, `${ns}.log`), logged);
      }
      for (const m of mountsUnder(dir)) {
        try {
          execFileSync('umount', ['-l', m], { stdio: 'ignore' });
        } catch {
          // raced
        }
      }
      execFileSync('rm', ['-rf', '--one-file-system', dir]);
    },
  };
  return self;
}

/** Polls until fn() is true (or throws after timeoutMs). */
export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `ctr tasks ls` as {id: status}. */
export function parseTaskList(out: string): Record<string, { pid: number; status: string }> {
  const res: Record<string, { pid: number; status: string }> = {};
  for (const line of out.split('\n').slice(1)) {
    const [id, pid, status] = line.trim().split(/\s+/);
    if (id) res[id] = { pid: Number(pid), status };
  }
  return res;
}
