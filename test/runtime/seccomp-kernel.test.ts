/**
 * Compiled seccomp filters, loaded by the real kernel: berth-nsexec is driven
 * directly with a hand-built plan (no runtime involved):
 *
 *   prctl(PR_SET_NO_NEW_PRIVS) -> seccomp(program, flags, listener) -> execve(busybox ...)
 *
 * and the kernel's answer is read from busybox's exit status, its error text
 * or the signal that killed it. Needs gcc (static libc) and busybox-static;
 * no root (no_new_privs allows an unprivileged filter).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Socket, createConnection } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { compileSeccomp } from '../../runtime/src/seccomp/compile';
import { defaultSeccompProfile } from '../../runtime/src/seccomp/default-profile';
import { Plan, encodePlan, step } from '../../runtime/src/process/plan';
import type { LinuxSeccomp } from '../../runtime/src/spec/types';

const BUSYBOX = '/bin/busybox';
const PR_SET_NO_NEW_PRIVS = 38;
const ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'];
const root = join(__dirname, '..', '..');

function missing(): string | null {
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} is missing (busybox-static)`;
  if (spawnSync('gcc', ['--version']).status !== 0) return 'no gcc';
  return null;
}
const why = missing();
const d = why ? describe.skip : describe;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  log: string;
  listener: Buffer;
}

function collect(s: Readable | null | undefined, into: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    if (!s) return resolve();
    s.on('data', (c: Buffer) => into.push(c));
    s.on('end', resolve);
    s.on('error', () => resolve());
  });
}

/** Runs `berth-nsexec init 3 4 5` on a plan; fd 6 is a socket for a seccomp listener (ours, or `listener`). */
async function runPlan(nsexec: string, plan: Plan, listener?: Socket, syncReply = ''): Promise<Outcome> {
  const child = spawn(nsexec, ['init', '3', '4', '5'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', listener ?? 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const log: Buffer[] = [];
  const received: Buffer[] = [];
  const stdio = child.stdio as unknown as (Readable & Writable)[];
  const done = Promise.all([collect(stdio[1], out), collect(stdio[2], err), collect(stdio[5], log), listener ? Promise.resolve() : collect(stdio[6], received)]);
  // Answer SYNC requests (the seccomp metadata slot) with syncReply.
  stdio[4].on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.includes('"type":"sync"')) continue;
      const body = Buffer.from(syncReply);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      stdio[4].write(Buffer.concat([len, body]));
    }
  });
  stdio[3].end(encodePlan(plan));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  // The sync socket stays open on our side; close it so nothing lingers.
  stdio[4].destroy();
  await done;
  return { code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), log: Buffer.concat(log).toString(), listener: Buffer.concat(received) };
}

/** The metadata for a listener comes from a SYNC reply (slot 1), as the runtime sends it. */
function filtered(cfg: LinuxSeccomp, argv: string[], listenerFd: number | null = null): Plan {
  const c = compileSeccomp(cfg);
  return [
    step.prctl(PR_SET_NO_NEW_PRIVS, 1, 'set no_new_privs'),
    ...(c.needsListener && listenerFd !== null ? [step.sync('seccomp', 1)] : []),
    step.seccomp(c.program, c.flags, c.needsListener ? listenerFd : null, 1),
    step.exec(argv, ENV),
  ];
}

const allowAllBut = (action: string, names: string[], errnoRet?: number): LinuxSeccomp => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names, action, ...(errnoRet !== undefined ? { errnoRet } : {}) }],
});

d(why ? `seccomp in the kernel — skipped: ${why}` : 'seccomp in the kernel', () => {
  let work: string;
  let nsexec: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'berth-seccomp-kernel-'));
    nsexec = join(work, 'berth-nsexec');
    const sources = readdirSync(join(root, 'runtime/native')).filter((f) => f.endsWith('.c')).map((f) => join(root, 'runtime/native', f));
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-D_GNU_SOURCE', '-static', '-o', nsexec, ...sources], { stdio: 'pipe' });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('ERRNO: mkdir fails with EPERM while everything else works', async () => {
    const dir = join(work, 'denied');
    const cfg = allowAllBut('SCMP_ACT_ERRNO', ['mkdir', 'mkdirat']);
    const r = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'mkdir', dir]));
    expect(r.stderr).toMatch(/Operation not permitted/);
    expect(r.code).toBe(1);
    expect(existsSync(dir)).toBe(false);
    const ok = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'sh', '-c', 'echo hello && true']));
    expect(ok).toMatchObject({ code: 0, stdout: 'hello\n' });
  });

  test('ERRNO with errnoRet: the kernel returns that errno', async () => {
    const r = await runPlan(nsexec, filtered(allowAllBut('SCMP_ACT_ERRNO', ['mkdir', 'mkdirat'], 28), [BUSYBOX, 'mkdir', join(work, 'nospace')]));
    expect(r.stderr).toMatch(/No space left on device/);
  });

  test('an argument condition: chmod is refused only to mode 0700', async () => {
    const cfg: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0o700, op: 'SCMP_CMP_EQ' }] },
        { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 0o700, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const file = join(work, 'chmod-me');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const denied = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'chmod', '700', file]));
    expect(denied.stderr).toMatch(/Operation not permitted/);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const allowed = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'chmod', '750', file]));
    expect(allowed.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o750);
  });

  test.each([
    ['SCMP_ACT_KILL', 'SIGSYS'],
    ['SCMP_ACT_KILL_PROCESS', 'SIGSYS'],
    ['SCMP_ACT_TRAP', 'SIGSYS'],
  ])('%s: the process dies of %s', async (action, signal) => {
    const r = await runPlan(nsexec, filtered(allowAllBut(action, ['mkdir', 'mkdirat']), [BUSYBOX, 'mkdir', join(work, 'killed')]));
    expect(r.signal).toBe(signal);
    expect(existsSync(join(work, 'killed'))).toBe(false);
  });

  test("Docker's default profile: a shell works; unshare and mount do not", async () => {
    const cfg = defaultSeccompProfile();
    const sh = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'sh', '-c', 'busybox true && busybox ls / >/dev/null && echo ok']));
    expect(sh).toMatchObject({ code: 0, stdout: 'ok\n' });
    const unshare = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'unshare', '-n', BUSYBOX, 'true']));
    expect(unshare.code).not.toBe(0);
    expect(unshare.stderr).toMatch(/Operation not permitted/);
    const target = mkdtempSync(join(work, 'mnt-'));
    const mount = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'mount', '-t', 'tmpfs', 'none', target]));
    // Were the filter wrong, root would have mounted on the host: undo that before failing.
    if (mount.code === 0) spawnSync('umount', [target]);
    expect(mount.code).not.toBe(0);
    expect(mount.stderr).toMatch(/Operation not permitted|permission denied/i);
    // A plain fork (clone without namespace flags) is allowed.
    const fork = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'sh', '-c', '(busybox true) && echo forked']));
    expect(fork).toMatchObject({ code: 0, stdout: 'forked\n' });
  });

  (process.getuid?.() === 0 ? test : test.skip)('with CAP_SYS_ADMIN the default profile lets unshare through (root)', async () => {
    const cfg = defaultSeccompProfile({ capabilities: ['CAP_SYS_ADMIN'] });
    const r = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'unshare', '-n', BUSYBOX, 'true']));
    expect(r).toMatchObject({ code: 0 });
  });

  test('NOTIFY: the notify fd goes to the listener socket with the metadata; without a listener the syscall gets ENOSYS', async () => {
    // The runtime would connect to listenerPath; here fd 6 of berth-nsexec is our end of a socket pair.
    const cfg: LinuxSeccomp = { ...allowAllBut('SCMP_ACT_NOTIFY', ['mkdir', 'mkdirat']), listenerPath: '/unused/by/this/test.sock' };
    const c = compileSeccomp(cfg);
    expect(c.needsListener).toBe(true);
    const r = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'mkdir', join(work, 'notified')], 6), undefined, 'berth-test-metadata');
    // Node reads the data bytes; the fd itself is dropped, so the kernel answers ENOSYS.
    expect(r.listener.toString()).toBe('berth-test-metadata');
    expect(r.stderr).toMatch(/Function not implemented/);
    expect(existsSync(join(work, 'notified'))).toBe(false);
  });

  test('NOTIFY end to end: a seccomp agent gets the notify fd and the metadata, and answers for the kernel', async () => {
    const agentBin = join(work, 'seccomp-agent');
    execFileSync('cc', ['-O2', '-Wall', '-o', agentBin, join(root, 'runtime/src/seccomp/testdata/seccomp-agent.c')], { stdio: 'pipe' });
    const sock = join(work, 'agent.sock');
    const EACCES = 13;
    const agent = spawn(agentBin, [sock, String(EACCES)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const agentOut: Buffer[] = [];
    const agentDone = collect(agent.stdout, agentOut);
    try {
      await new Promise<void>((resolve, reject) => {
        agent.stdout!.once('data', () => resolve());
        agent.once('exit', () => reject(new Error('agent exited early')));
      });
      // The runtime's part: connect to listenerPath and hand the connected socket to berth-nsexec.
      const conn = await new Promise<Socket>((resolve, reject) => {
        const c = createConnection(sock, () => resolve(c));
        c.once('error', reject);
      });
      const cfg: LinuxSeccomp = { ...allowAllBut('SCMP_ACT_NOTIFY', ['mkdir', 'mkdirat']), listenerPath: sock };
      const r = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'mkdir', join(work, 'agent-denied')], 6), conn, '{"ociVersion":"1.0.2","fds":["seccompFd"]}');
      conn.destroy();
      expect(r.stderr).toMatch(/Permission denied/);
      expect(existsSync(join(work, 'agent-denied'))).toBe(false);
      await agentDone;
      const said = Buffer.concat(agentOut).toString();
      expect(said).toContain('metadata {"ociVersion":"1.0.2","fds":["seccompFd"]}');
      expect(said).toMatch(/notified nr (83|258)\b/); // mkdir or mkdirat on x86_64
    } finally {
      agent.kill('SIGKILL');
    }
  });

  test('the kernel refuses nothing berth compiles: a 1000+ instruction filter with long jumps loads', async () => {
    const names = ['read', 'write', 'openat', 'close', 'fstat', 'newfstatat', 'mmap', 'mprotect', 'munmap', 'brk', 'rt_sigaction', 'execve', 'exit_group', 'getdents64', 'ioctl'];
    const cfg: LinuxSeccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: Array.from({ length: 300 }, (_, i) => ({ names: ['getpriority'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1000 + i, op: 'SCMP_CMP_EQ' }, { index: 1, value: i, op: 'SCMP_CMP_GT' }] })),
    };
    cfg.syscalls!.push({ names, action: 'SCMP_ACT_LOG' });
    const compiled = compileSeccomp(cfg);
    expect(compiled.instructions.length).toBeGreaterThan(1000);
    const r = await runPlan(nsexec, filtered(cfg, [BUSYBOX, 'sh', '-c', 'echo long']));
    expect(r).toMatchObject({ code: 0, stdout: 'long\n' });
  });
});
