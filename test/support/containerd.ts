/**
 * A private containerd (Debian's 1.6) for tests: its own root, state and
 * socket under a temp dir, the CRI plugin off. `ctr()` talks to it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeEmptyCgroups, track } from './cleanup';

export interface Containerd {
  dir: string;
  address: string;
  proc: ChildProcess;
  ctr(args: string[], opts?: { input?: string; timeoutMs?: number }): { status: number; stdout: string; stderr: string };
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

export async function startContainerd(extraPath: string[] = []): Promise<Containerd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ctrd-'));
  const address = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      '  level = "warn"',
    ].join('\n'),
  );
  const env = { ...process.env, PATH: [...extraPath, process.env.PATH].join(':') };
  const launch = () => {
    const proc = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'containerd.log'), 'a')], env });
    return proc;
  };
  const c: Containerd = {
    dir,
    address,
    proc: launch(),
    ctr(args, opts = {}) {
      const r = spawnSync('ctr', ['--address', address, ...args], { input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env });
      return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const p = c.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const done = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill(signal);
      await done;
    },
    async restart() {
      await c.stop('SIGKILL');
      c.proc = launch();
      await waitForSocket(address);
    },
  };
  // Tasks first (the shims), then containerd, then the dirs (unmounting what is left).
  track.dir(dir);
  track.add(() => {
    for (const ns of ['default']) {
      const tasks = c.ctr(['-n', ns, 'tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean);
      for (const t of tasks) c.ctr(['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', t]);
      for (const t of tasks) c.ctr(['-n', ns, 'tasks', 'rm', '-f', t]);
      for (const t of c.ctr(['-n', ns, 'containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) c.ctr(['-n', ns, 'containers', 'rm', t]);
      // ctr's cgroupsPath is /<ns>/<id>: the runtime removes the leaf, the namespace's dir stays
      removeEmptyCgroups(ns);
    }
    c.proc.kill('SIGKILL');
  });
  await waitForSocket(address);
  return c;
}

async function waitForSocket(p: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fs.existsSync(p)) {
    if (Date.now() > end) throw new Error(`containerd did not create ${p}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
