/**
 * A private containerd 1.6 for the shim's end-to-end tests: its own config,
 * root, state and sockets under a temp dir, the berth shim on its PATH (so
 * that io.containerd.berth.v2 resolves to dist/bin/containerd-shim-berth-v2),
 * and the shim's own state under the same dir. cleanup() kills containerd,
 * every shim and container it started, unmounts and removes the dir, even
 * after a failed test.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBundles } from '../../support/build';
import { removeEmptyCgroups } from '../../support/cleanup';

/** The repository root: the nearest directory above with the Makefile and package.json. */
export const REPO = ((): string => {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'Makefile')) && fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`no repository above ${__dirname}`);
})();
export const DIST = path.join(REPO, 'dist');

/** Builds the native helper, and the bundles when they are older than their sources. */
export function ensureBuilt(): void {
  execFileSync('make', ['-s', 'native'], { cwd: REPO, stdio: 'pipe' });
  ensureBundles([path.join(DIST, 'containerd-shim-berth-v2.js'), path.join(DIST, 'berth-runtime.js')], ['shim/src', 'runtime/src', 'proto']);
}

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class PrivateContainerd {
  readonly address: string;
  proc?: ChildProcess;
  private readonly logFd: number;

  private constructor(readonly dir: string, readonly env: NodeJS.ProcessEnv) {
    this.address = path.join(dir, 'c.sock');
    this.logFd = fs.openSync(path.join(dir, 'containerd.log'), 'a');
  }

  /** `shimEnv` is added to containerd's environment, which its shims inherit. */
  static async start(shimEnv: NodeJS.ProcessEnv = {}): Promise<PrivateContainerd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-shim-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${path.join(DIST, 'bin')}:${path.dirname(process.execPath)}:${process.env.PATH}`,
      // The OCI runtime under the shim: berth-runtime (the whole berth stack), or a peer
      // (BERTH_SHIM_OCI=/usr/sbin/runc) to prove the shim works with runc too.
      BERTH_SHIM_RUNTIME: process.env.BERTH_SHIM_OCI ?? path.join(DIST, 'bin', 'berth-runtime'),
      BERTH_SHIM_STATE_ROOT: path.join(dir, 'shim'),
      BERTH_SHIM_RUNTIME_ROOT: path.join(dir, 'runc'),
      BERTH_SHIM_LOG: path.join(dir, 'shim.log'),
      ...shimEnv,
    };
    // This machine's Node CA bundle costs every Node start ~200 ms; containerd hosts do not set it.
    delete env.NODE_EXTRA_CA_CERTS;
    fs.writeFileSync(path.join(dir, 'config.toml'), [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]',
      '[grpc]',
      `  address = "${dir}/c.sock"`,
      '[ttrpc]',
      `  address = "${dir}/c.sock.ttrpc"`,
      '[debug]',
      '  level = "debug"',
      '',
    ].join('\n'));
    const c = new PrivateContainerd(dir, env);
    await c.launch();
    return c;
  }

  /** Starts containerd (again) and waits until it answers. */
  async launch(): Promise<void> {
    this.proc = spawn('containerd', ['--config', path.join(this.dir, 'config.toml')], {
      env: this.env, stdio: ['ignore', this.logFd, this.logFd],
    });
    for (let i = 0; i < 200; i++) {
      if (fs.existsSync(this.address) && (await this.ctr(['version'])).code === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`containerd did not start; log:\n${this.log().slice(-3000)}`);
  }

  /** SIGKILLs containerd (its shims and containers keep running). */
  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  log(): string {
    return fs.readFileSync(path.join(this.dir, 'containerd.log'), 'utf8');
  }

  /**
   * Runs ctr. `input` goes to its stdin, which is closed `inputEndMs` later:
   * ctr only calls CloseIO for an EOF that comes after the task exists.
   */
  ctr(args: string[], opts: { input?: string; inputEndMs?: number; timeoutMs?: number } = {}): Promise<CtrResult> {
    return new Promise((resolve) => {
      const child = execFile('ctr', ['--address', this.address, ...args], {
        env: this.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20,
      }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
      if (opts.input !== undefined) child.stdin?.write(opts.input);
      const t = setTimeout(() => child.stdin?.end(), opts.inputEndMs ?? 0);
      child.once('exit', () => clearTimeout(t));
    });
  }

  /** ctr, failing the test on a non-zero exit. */
  async ctrOk(args: string[], opts: { input?: string; inputEndMs?: number; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.ctr(args, opts);
    if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** Pids of the berth shims' native reapers: a shim's lasting process (its Node server may be hibernating). */
  reaperPids(): number[] {
    return listProcesses().filter((p) => p.cmdline.includes('shim-reaper') && p.cmdline.includes(this.dir)).map((p) => p.pid);
  }

  /** Pids of the berth shims (native reapers and their Node servers) this containerd started. */
  shimPids(): number[] {
    const reapers = this.reaperPids();
    const servers = listProcesses().filter((p) => reapers.includes(p.ppid) && p.cmdline.includes('containerd-shim-berth-v2')).map((p) => p.pid);
    return [...reapers, ...servers];
  }

  /** Pids of containerd-shim-runc-v2 processes this containerd started (tests run against the peer too). */
  runcShimPids(): number[] {
    return listProcesses().filter((p) => p.cmdline.startsWith('/usr/bin/containerd-shim-runc-v2') && p.cmdline.includes(`-address ${this.address} `)).map((p) => p.pid);
  }

  async cleanup(): Promise<void> {
    await this.kill9().catch(() => undefined);
    // containers, through runc's state: the berth shim's root, and runc shim's default
    // root for the ids that are this containerd's bundles
    const roots: [string, string[]][] = [];
    const ours = path.join(this.dir, 'runc');
    for (const ns of safeReaddir(ours)) roots.push([path.join(ours, ns), safeReaddir(path.join(ours, ns))]);
    const tasks = path.join(this.dir, 'state', 'io.containerd.runtime.v2.task');
    for (const ns of safeReaddir(tasks)) roots.push([path.join('/run/containerd/runc', ns), safeReaddir(path.join(tasks, ns))]);
    for (const [root, ids] of roots) for (const id of ids) forceDelete(root, id);
    // ctr's cgroupsPath is /<ns>/<id>: the runtime removes the leaf, the namespace's dir stays
    // (as with containerd); remove it when empty
    removeEmptyCgroups(...safeReaddir(ours), ...safeReaddir(tasks));
    for (const pid of [...this.shimPids(), ...this.runcShimPids()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    unmountUnder(this.dir);
    fs.closeSync(this.logFd);
    execFileSync('rm', ['-rf', '--one-file-system', this.dir]);
  }
}

/**
 * `delete --force` of a container by whichever runtime made it: berth-runtime
 * first (runc cannot read its state.json: "cgroups/manager.New: config must
 * not be nil", and the container lives on), then runc.
 */
export function forceDelete(root: string, id: string): void {
  for (const rt of [path.join(DIST, 'bin', 'berth-runtime'), 'runc']) {
    try {
      execFileSync(rt, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
    } catch {
      // not this runtime's, or already gone
    }
  }
}

export function listProcesses(): { pid: number; ppid: number; cmdline: string; state: string }[] {
  const out = [];
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      out.push({ pid: Number(name), ppid: Number(rest[1]), state: rest[0], cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The processes (other than this one) that hold `file` open. */
export function openedBy(file: string): number[] {
  return listProcesses().map((p) => p.pid).filter((pid) => pid !== process.pid && safeReaddir(`/proc/${pid}/fd`).some((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
    } catch {
      return false; // closed or gone meanwhile
    }
  }));
}

function safeReaddir(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}

/** Mount points below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const mounts = text.split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
  return mounts.sort((a, b) => b.length - a.length);
}

export function unmountUnder(dir: string): void {
  for (const m of mountsUnder(dir)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // raced with another unmount
    }
  }
}
