/**
 * berthd as a process: the default config, running with no config file, a
 * config file's keys, one daemon per root, clean shutdown on SIGTERM, bad
 * config refused with a clear message.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'smol-toml';
import { berthdJs, ensureBuilt, removeDir, startBerthd } from './support/daemon';
import { run, runOk } from './support/run';

let work: string;

beforeAll(() => {
  ensureBuilt();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berthd-daemon-'));
});
afterAll(() => removeDir(work));

test('config default prints the full default config as TOML with containerd keys', async () => {
  const r = await runOk(process.execPath, [berthdJs, 'config', 'default']);
  const cfg = parse(r.stdout) as Record<string, Record<string, unknown>>;
  expect(cfg.version).toBe(2);
  expect(cfg.root).toBe('/var/lib/berth');
  expect(cfg.state).toBe('/run/berth');
  expect(cfg.grpc.address).toBe('/run/berth/berthd.sock');
  expect(cfg.grpc.mode).toBe('0660');
  expect(cfg.debug.level).toBe('info');
  // containerd's own defaults (containerd config default prints the same table)
  expect(cfg.plugins['io.containerd.gc.v1.scheduler']).toEqual({ pause_threshold: 0.02, deletion_threshold: 0, mutation_threshold: 100, schedule_delay: '0s', startup_delay: '100ms' });
});

test('runs with no config file, serves on a 0660 socket, stops cleanly on SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'noconf-'));
  expect(fs.existsSync('/etc/berth/config.toml')).toBe(false);
  const d = await startBerthd({ dir, config: null });
  try {
    expect(fs.statSync(d.address).mode & 0o777).toBe(0o660);
    expect((await d.client().call('version', 'Version')).version).toMatch(/\d+\.\d+/);
    expect(fs.existsSync(path.join(d.root, 'berthd.pid'))).toBe(true);
  } finally {
    expect(await d.stop('SIGTERM')).toBe(0);
  }
  expect(fs.existsSync(d.address)).toBe(false);
  expect(fs.existsSync(path.join(d.root, 'berthd.pid'))).toBe(false);
  expect(d.log()).toMatch(/msg="stopped"/);
});

test('a config file sets root, state, address, mode, log level and format', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'conf-'));
  const cfg = path.join(dir, 'config.toml');
  fs.writeFileSync(
    cfg,
    `version = 2\nroot = "${dir}/r"\nstate = "${dir}/s"\n[grpc]\n  address = "${dir}/custom.sock"\n  mode = "0600"\n[debug]\n  level = "debug"\n  format = "json"\n[plugins."io.containerd.snapshotter.v1.btrfs"]\n  root_path = "/nowhere"\n`,
  );
  const p = spawn(process.execPath, [berthdJs, '--config', cfg]);
  let stderr = '';
  p.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((r) => p.once('exit', r));
  try {
    for (let i = 0; i < 300 && !fs.existsSync(`${dir}/custom.sock`); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(`${dir}/custom.sock`).mode & 0o777).toBe(0o600);
  } finally {
    p.kill('SIGTERM');
    await exited;
  }
  // its JSON log is logrus-shaped
  const lines = stderr.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines[0]).toMatchObject({ level: 'info', msg: 'starting berthd', root: `${dir}/r`, state: `${dir}/s` });
  expect(lines.some((l) => l.level === 'debug')).toBe(true);
  expect(lines.find((l) => l.msg === 'serving')).toMatchObject({ address: `${dir}/custom.sock` });
});

test('refuses to start twice on the same root', async () => {
  const dir = fs.mkdtempSync(path.join(work, 'twice-'));
  const d = await startBerthd({ dir });
  try {
    const second = await run(process.execPath, [berthdJs, '--root', d.root, '--state', path.join(dir, 's2'), '--address', path.join(dir, 'b2.sock'), '--config', path.join(dir, 'config.toml')]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`root ${d.root} is in use by berthd \\(pid ${d.proc.pid}\\)`));
    // the first one still serves
    expect((await d.client().call('version', 'Version')).version).toBeTruthy();
  } finally {
    await d.stop();
  }
  // a stale pid file (its process is gone) does not block a restart
  fs.writeFileSync(path.join(d.root, 'berthd.pid'), '999999\n');
  const again = await startBerthd({ dir });
  await again.stop();
});

test.each([
  ['not TOML', 'root = ', /failed to parse config/],
  ['a wrong type', 'root = 5', /root must be a string/],
  ['an unknown version', 'version = 9', /unsupported config version 9/],
  ['a bad socket mode', '[grpc]\nmode = "0999"', /grpc\.mode is not a file mode/],
  ['a missing file named explicitly', null, /failed to read config .*ENOENT/],
  // containerd refuses these when it reads the config; berthd when the plugin decodes its table
  ['a bad GC duration', '[plugins."io.containerd.gc.v1.scheduler"]\nschedule_delay = "soon"', /plugins\."io\.containerd\.gc\.v1\.scheduler": schedule_delay: invalid duration "soon"/],
  ['a GC threshold of the wrong type', '[plugins."io.containerd.gc.v1.scheduler"]\npause_threshold = "2%"', /pause_threshold: want a number/],
])('a config with %s is refused with a clear message', async (_what, body, msg) => {
  const cfg = path.join(work, `bad-${Math.random()}.toml`);
  if (body !== null) fs.writeFileSync(cfg, body);
  const dir = fs.mkdtempSync(path.join(work, 'bad-'));
  const r = await run(process.execPath, [berthdJs, '--config', cfg, '--root', path.join(dir, 'root'), '--state', path.join(dir, 'state'), '--address', path.join(dir, 'sock')]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(msg);
});
