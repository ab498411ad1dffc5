/**
 * `containerd-shim-berth-v2 start` (containerd's shim manager Start,
 * runtime/v2/runc/manager/manager_linux.go): run by containerd in the bundle
 * with the runtime options on stdin; starts the long-lived shim, or finds the
 * running one its group shares, writes the bundle's `address` file, prints
 * the ttrpc address and exits.
 *
 * The long-lived shim is `berth-nsexec shim-reaper` (the subreaper, in a new
 * session) running Node with the server. The socket lives in the shim's own
 * directory, <state>/<hash>/sock, the hash covering containerd's address, the
 * namespace and the group.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { writeFileAtomic } from '../../runtime/src/atomic-file';
import type { Flags } from './flags';
import { CTL_FD, LISTEN_FD, nsexecPath } from './native/paths';
import { resolveOptions } from './options';
import { shimRoot } from './protos';
import { HIBERNATED_FILE, MEMBERS_DIR, SOCKET } from './layout';
import nodeFlagsJson from './node-flags.json';

/** Annotations that put containers in one shim, first match wins (groupLabels). */
export const GROUP_LABELS = ['io.containerd.berth.v2.group', 'io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'];
/** sizeof(sockaddr_un.sun_path) - 1. */
const SOCKET_PATH_MAX = 107;

/**
 * V8 flags for the long-lived shim (BERTH_SHIM_NODE_FLAGS overrides): it is
 * idle nearly all the time, so memory matters and peak speed does not.
 * Measured by bench/shim (RESULTS.md section 1: one awake shim and its
 * reaper, RssAnon, berth-runtime loaded in process, the plain bundle): no
 * flags 19.2 MB; --jitless --single-threaded 16.9 MB; these 14.9 MB (20.9
 * from the start-up snapshot). --single-threaded
 * drops V8's worker threads, --jitless the code space, a 1 MB semi-space
 * the young generation's slack; --expose-gc lets the server collect when
 * idle. The old-space cap only bounds a runaway shim; --no-expose-wasm
 * only silences --jitless's warning that it turns WebAssembly off. They live
 * in node-flags.json, which the build reads for the launcher too.
 */
export const NODE_FLAGS: readonly string[] = nodeFlagsJson;

/** The start-up snapshot this process runs from (snapshot.ts), if any: the server starts from it too. */
let snapshotBlob: string | undefined;

export function useSnapshot(blob: string): void {
  snapshotBlob = blob;
}

/**
 * The server's command line: node with its flags and the entry this process
 * runs — the start-up snapshot when it runs from it and the flags are the
 * ones the snapshot was built with (it runs only under those), else the
 * plain bundle. bench/shim (RESULTS.md), snapshot against BERTH_NO_SNAPSHOT:
 * a new shim runs its first container in 212 against 274 ms, a hibernated
 * one answers its first request in 78 against 113 ms; the deserialised heap
 * costs ~6 MB more RssAnon while the server is awake (20.9 against 14.9 MB:
 * it holds every module and idle collections do not give it back), nothing
 * once it hibernates.
 */
export function serverCommand(nodeFlags: readonly string[], args: string[]): string[] {
  const sameFlags = nodeFlags.length === NODE_FLAGS.length && nodeFlags.every((f, i) => f === NODE_FLAGS[i]);
  const entry = snapshotBlob && sameFlags ? ['--snapshot-blob', snapshotBlob, process.argv[1]] : [bundlePath()];
  return [process.execPath, ...nodeFlags, ...entry, ...args];
}

/**
 * The plain bundle: the script this process runs, else (under the snapshot,
 * whose argv[1] is the launcher) the bundle beside berth-nsexec in dist/.
 */
function bundlePath(): string {
  const own = process.argv[1];
  if (own && own.endsWith('.js')) return own;
  return path.join(path.dirname(nsexecPath()), 'containerd-shim-berth-v2.js');
}

export function stateRoot(): string {
  return process.env.BERTH_SHIM_STATE_ROOT ?? '/run/berth/shim';
}

/**
 * How containers share shims when no annotation groups them
 * (BERTH_SHIM_GROUP): "container" — one shim each, as containerd's runc
 * shim; "namespace" — one shim per namespace; a number N — packed, up to N
 * containers per shim (the default, 8): a Node process costs ~10 MB of
 * private memory whatever it holds, so sharing it is what makes a berth
 * shim cheap per container, while N bounds what one shim's failure takes.
 */
export type GroupPolicy = { kind: 'container' } | { kind: 'namespace' } | { kind: 'pack'; size: number };

export const DEFAULT_PACK_SIZE = 8;

export function groupPolicy(value = process.env.BERTH_SHIM_GROUP): GroupPolicy {
  if (value === undefined || value === '') return { kind: 'pack', size: DEFAULT_PACK_SIZE };
  if (value === 'container') return { kind: 'container' };
  if (value === 'namespace') return { kind: 'namespace' };
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1) return n === 1 ? { kind: 'container' } : { kind: 'pack', size: n };
  throw new Error(`BERTH_SHIM_GROUP=${JSON.stringify(value)}: want "container", "namespace" or a number of containers per shim`);
}

/** An annotation's group (pods), or undefined. */
export function annotatedGroup(annotations: Record<string, string>): string | undefined {
  for (const label of GROUP_LABELS) if (annotations[label]) return `group:${annotations[label]}`;
  return undefined;
}

/**
 * The shim directory for a container: its annotated group's, or per the
 * policy. Packing takes the first pack whose shim is absent, dead, or has
 * room; the count is advisory (two starts racing may both join a pack).
 */
export async function chooseShimDir(address: string, namespace: string, id: string, annotations: Record<string, string>, policy: GroupPolicy): Promise<string> {
  const group = annotatedGroup(annotations);
  if (group) return shimDir(address, namespace, group);
  if (policy.kind === 'container') return shimDir(address, namespace, `id:${id}`);
  if (policy.kind === 'namespace') return shimDir(address, namespace, `namespace:${namespace}`);
  for (let i = 0; ; i++) {
    const dir = shimDir(address, namespace, `pack:${i}`);
    if (!(await canConnect(path.join(dir, SOCKET)))) return dir;
    let members: string[] = [];
    try {
      members = fs.readdirSync(path.join(dir, MEMBERS_DIR));
    } catch {
      // none recorded
    }
    if (members.includes(id) || members.length < policy.size) return dir;
  }
}

/** Records that the shim in `dir` serves container `id`. */
export function addMember(dir: string, id: string): void {
  fs.mkdirSync(path.join(dir, MEMBERS_DIR), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, MEMBERS_DIR, id), '');
}

export function shimDir(address: string, namespace: string, group: string): string {
  const hash = createHash('sha256').update(`berth\0${address}\0${namespace}\0${group}`).digest('hex').slice(0, 32);
  return path.join(stateRoot(), hash);
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 500);
    s.once('connect', () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once('error', () => { clearTimeout(t); resolve(false); });
  });
}

/** Writes the bundle's address file atomically (shim.WriteAddress, plus fsync). */
export function writeAddress(bundle: string, address: string): void {
  writeFileAtomic(path.join(bundle, 'address'), address, 0o666);
}

function readStdin(): Buffer {
  try {
    return fs.readFileSync(0);
  } catch {
    return Buffer.alloc(0);
  }
}

/** Moves `pid` into the shim cgroup named by the options (ShimCgroup), v1 or v2. */
function joinCgroup(pid: number, cgroup: string): void {
  const root = '/sys/fs/cgroup';
  if (fs.existsSync(path.join(root, 'cgroup.controllers'))) {
    fs.writeFileSync(path.join(root, cgroup, 'cgroup.procs'), String(pid));
    return;
  }
  for (const ctrl of fs.readdirSync(root)) {
    const procs = path.join(root, ctrl, cgroup, 'cgroup.procs');
    if (fs.existsSync(procs)) fs.writeFileSync(procs, String(pid));
  }
}

/** One more than containerd's own OOM score, so that the kernel picks the shim first (AdjustOOMScore). */
function adjustOomScore(pid: number): void {
  const parent = Number(fs.readFileSync(`/proc/${process.ppid}/oom_score_adj`, 'utf8').trim());
  fs.writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(parent + 1, 1000)));
}

/** Reads "ok PID" / "error ERRNO MSG" from the reaper's stdout. */
function readReport(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    stream.on('end', () => resolve(text.split('\n')[0]));
  });
}

/**
 * The server's environment: containerd's, plus where its state is. Node
 * options that only cost start-up time and memory in a shim that makes no
 * TLS connections are dropped (NODE_EXTRA_CA_CERTS alone adds ~200 ms).
 */
function serverEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, BERTH_SHIM_STATE: dir };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

export async function start(flags: Flags): Promise<string> {
  const bundle = flags.bundle || process.cwd();
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, string> };
  const dir = await chooseShimDir(flags.address, flags.namespace, flags.id, spec.annotations ?? {}, groupPolicy());
  const socket = path.join(dir, SOCKET);
  if (socket.length > SOCKET_PATH_MAX) throw new Error(`${JSON.stringify(socket)}: unix socket path too long (> ${SOCKET_PATH_MAX})`);
  const address = `unix://${socket}`;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  // A shim serving this group already (grouping), or a stale socket.
  if (await canConnect(socket)) {
    addMember(dir, flags.id);
    writeAddress(bundle, address);
    return address;
  }
  fs.rmSync(socket, { force: true });
  fs.rmSync(path.join(dir, MEMBERS_DIR), { recursive: true, force: true }); // a dead shim's
  fs.rmSync(path.join(dir, HIBERNATED_FILE), { force: true });
  addMember(dir, flags.id);

  const opts = readStdin();
  let shimCgroup = '';
  if (opts.length) {
    const root = shimRoot();
    const any = root.lookupType('google.protobuf.Any');
    const decoded = any.toObject(any.decode(opts)) as { type_url?: string; value?: Uint8Array };
    shimCgroup = resolveOptions(decoded, root).shimCgroup;
  }

  let logFd: number;
  try {
    logFd = fs.openSync(path.join(bundle, 'log'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch {
    logFd = fs.openSync('/dev/null', 'w');
  }
  const nodeFlags = process.env.BERTH_SHIM_NODE_FLAGS !== undefined
    ? process.env.BERTH_SHIM_NODE_FLAGS.split(/\s+/).filter(Boolean)
    : NODE_FLAGS;
  const serverArgs = ['-namespace', flags.namespace, '-id', flags.id, '-address', flags.address, '-publish-binary', flags.publishBinary];
  if (flags.debug) serverArgs.push('-debug');
  const child = spawn(nsexecPath(), [
    'shim-reaper', socket, String(LISTEN_FD), String(CTL_FD), '--',
    ...serverCommand(nodeFlags, serverArgs),
  ], {
    cwd: bundle,
    detached: true, // a new session, away from containerd's signals
    stdio: ['pipe', 'pipe', logFd],
    env: serverEnv(dir),
  });
  fs.closeSync(logFd);
  const report = await readReport(child.stdout!);
  const m = /^ok (\d+)$/.exec(report);
  if (!m) {
    child.stdin!.destroy();
    const errno = /^error (\d+)/.exec(report);
    if (errno && Number(errno[1]) === 98 /* EADDRINUSE */ && (await canConnect(socket))) {
      addMember(dir, flags.id);
      writeAddress(bundle, address); // another start of the same group won the race
      return address;
    }
    throw new Error(`failed to start shim: ${report || 'the reaper exited without a report'}`);
  }
  const pid = Number(m[1]);
  try {
    fs.chmodSync(socket, 0o600);
    writeAddress(bundle, address);
    if (shimCgroup) joinCgroup(pid, shimCgroup);
    adjustOomScore(pid);
  } catch (err) {
    process.kill(pid, 'SIGKILL');
    fs.rmSync(socket, { force: true });
    throw err;
  }
  child.stdin!.end(); // go: the reaper forks the server now
  child.stdout!.destroy();
  child.unref();
  return address;
}
