/**
 * Starts berthd (the bundle in dist/, built on demand) or a private
 * containerd on a temp root/state/socket, for one test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBundles } from '../../support/build';
import { Client } from '../../../supervisor/src/client/client';
import { track, trackDir } from './reaper';

/** The repository root: the nearest directory up from here that has scripts/build.mjs (works from a bundle in dist/ too). */
export const repoRoot = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'scripts', 'build.mjs'))) return dir;
  }
  return path.resolve(__dirname, '..', '..', '..');
})();
export const berthdJs = path.join(repoRoot, 'dist', 'berthd.js');
export const berthctlJs = path.join(repoRoot, 'dist', 'berthctl.js');

/** Builds the bundles when they are missing or older than the sources (see test/support/build.ts). */
export function ensureBuilt(): void {
  ensureBundles([berthdJs, berthctlJs], ['supervisor/src', 'proto']);
}

export interface Daemon {
  dir: string;
  root: string;
  state: string;
  address: string;
  proc: ChildProcess;
  log(): string;
  client(namespace?: string): Client;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

async function waitForSocket(file: string, proc: ChildProcess, logFile: string, timeoutMs = 15000): Promise<void> {
  const start = Date.now();
  while (!fs.existsSync(file)) {
    if (proc.exitCode !== null) throw new Error(`daemon exited ${proc.exitCode}: ${fs.readFileSync(logFile, 'utf8')}`);
    if (Date.now() - start > timeoutMs) throw new Error(`daemon socket ${file} did not appear: ${fs.readFileSync(logFile, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startProcess(cmd: string, args: string[], dir: string, address: string, root: string, state: string, env?: NodeJS.ProcessEnv): Promise<Daemon> {
  const logFile = path.join(dir, 'daemon.log');
  const fd = fs.openSync(logFile, 'a');
  const proc = track(spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env }));
  fs.closeSync(fd);
  const clients: Client[] = [];
  const d: Daemon = {
    dir,
    root,
    state,
    address,
    proc,
    log: () => fs.readFileSync(logFile, 'utf8'),
    client: (ns = 'default') => {
      const c = new Client(address, ns);
      clients.push(c);
      return c;
    },
    stop: async (signal = 'SIGTERM') => {
      for (const c of clients) c.close();
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  return waitForSocket(address, proc, logFile).then(() => d);
}

export interface BerthdOptions {
  /** A config file; null runs with none at all (the default path, absent here). */
  config?: string | null;
  extraArgs?: string[];
  dir?: string;
  /** TOML appended to the generated config (e.g. a snapshotter's [plugins."…"] table); containerd gets it too. */
  extraConfig?: string;
  /** The daemon's environment (its shims inherit it); default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Node's own flags before the script (e.g. V8 flags NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
}

export async function startBerthd(opts: BerthdOptions = {}): Promise<Daemon> {
  ensureBuilt();
  const dir = opts.dir ?? trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'berthd-test-')));
  const root = path.join(dir, 'root');
  const state = path.join(dir, 'state');
  const address = path.join(dir, 'berthd.sock');
  const cfg = opts.config === undefined ? path.join(dir, 'config.toml') : opts.config;
  const args = [...(opts.nodeArgs ?? []), berthdJs, ...(cfg ? ['--config', cfg] : []), '--root', root, '--state', state, '--address', address, ...(opts.extraArgs ?? [])];
  if (cfg && opts.config === undefined && !fs.existsSync(cfg)) fs.writeFileSync(cfg, opts.extraConfig ?? '');
  fs.rmSync(address, { force: true }); // a killed daemon's socket: wait for the new one
  return startProcess(process.execPath, args, dir, address, root, state, opts.env);
}

/** A private containerd (the peer) with its own root, state and socket. */
export async function startContainerd(opts: Pick<BerthdOptions, 'env' | 'dir' | 'extraConfig'> = {}): Promise<Daemon> {
  const dir = opts.dir ?? trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'containerd-peer-')));
  const root = path.join(dir, 'root');
  const state = path.join(dir, 'state');
  const address = path.join(dir, 'containerd.sock');
  const cfg = path.join(dir, 'config.toml');
  // Only what a content/image benchmark needs: no CRI, no TTRPC collisions.
  fs.writeFileSync(
    cfg,
    `version = 2\nroot = "${root}"\nstate = "${state}"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${address}"\n[ttrpc]\n  address = "${address}.ttrpc"\n[debug]\n  address = "${address}.debug"\n${opts.extraConfig ?? ''}`,
  );
  fs.rmSync(address, { force: true }); // a killed daemon's socket: wait for the new one
  return startProcess('containerd', ['--config', cfg], dir, address, root, state, opts.env);
}

/** Removes a test dir (nothing is mounted below it). */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The daemon under test: berthd, or containerd when BERTH_DAEMON=containerd
 * (to prove a test encodes containerd's real behaviour).
 */
export const peerMode = process.env.BERTH_DAEMON === 'containerd';

export function startDaemon(opts: BerthdOptions = {}): Promise<Daemon> {
  return peerMode ? startContainerd(opts) : startBerthd(opts);
}
