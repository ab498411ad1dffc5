/**
 * The shim's native entry points, driven directly (runtime/native/shim.c):
 * `shim-mount` performs and reports mount(2)/umount2(2) calls, and
 * `shim-reaper` is a subreaper that reports every orphan's exit with its raw
 * status, hands out pipes, refuses bad requests, and exits with its child's
 * status. (Its OOM watches fire in test/shim/lifecycle and hibernate.)
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exitStatus } from '../../shim/src/native/channel';
import { DIST, ensureBuilt, mountsUnder, unmountUnder } from './helpers/containerd';
import { describeE2E, eventually } from './helpers/setup';

const NSEXEC = path.join(DIST, 'berth-nsexec');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NSEXEC, args, (err, stdout, stderr) => resolve({ code: err ? (err as { code: number }).code : 0, stdout, stderr }));
  });
}

/**
 * The control channel on the reaper's side of fd 4, in plain JS, for the
 * programs below: enc(fields) frames a message, exits collects the reaper's
 * exit reports, replies[tag] keeps each reply, req(op, ...args) sends with a
 * fresh tag and resolves with the reply.
 */
const CONTROL_CLIENT = `
const fs = require('fs'), net = require('net'), cp = require('child_process');
const sock = new net.Socket({ fd: 4, readable: true, writable: true });
const enc = (f) => { const b = Buffer.from(f.map((x) => x + '\\0').join('')); const h = Buffer.alloc(4); h.writeUInt32LE(b.length); return Buffer.concat([h, b]); };
let buf = Buffer.alloc(0); const exits = []; const replies = {}; const waiting = {}; let seq = 100;
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
    const n = buf.readUInt32LE(0); const f = buf.toString('utf8', 4, 4 + n).split('\\0'); f.pop(); buf = buf.subarray(4 + n);
    if (f[0] === 'exit') exits.push({ pid: +f[1], status: +f[2], sec: +f[3] });
    else { replies[f[1]] = f; waiting[f[1]]?.(f); }
  }
});
const req = (...f) => new Promise((r) => { const t = String(++seq); waiting[t] = r; sock.write(enc([f[0], t, ...f.slice(1)])); });
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
// results appear whole (the test polls for the file, then reads it)
const put = (f, d) => { fs.writeFileSync(f + '.tmp', d); fs.renameSync(f + '.tmp', f); };
`;

/**
 * The program the reaper runs: speaks the control protocol in plain JS, makes
 * orphans, and writes what it saw to RESULT as JSON.
 */
const CHILD = `
${CONTROL_CLIENT}
const result = process.argv[2];
(async () => {
  // orphans: the middle shell exits at once, its children reparent to the reaper
  const a = cp.spawnSync('sh', ['-c', 'sh -c "sleep 0.1; exit 7" & sleep 0.2 & echo $!; exit 0'], { encoding: 'utf8' });
  const sleeper = +a.stdout.trim();
  const b = cp.spawnSync('sh', ['-c', 'sh -c "sleep 0.3; kill -9 \\\\$\\\\$" & echo $!; exit 0'], { encoding: 'utf8' });
  const killed = +b.stdout.trim();
  sock.write(enc(['pipe', '1']));
  await wait(1000);
  const [, , r, w] = replies['1'] || [];
  const rf = fs.openSync('/proc/' + process.ppid + '/fd/' + r, 'r');
  const wf = fs.openSync('/proc/' + process.ppid + '/fd/' + w, 'w');
  sock.write(enc(['pipe-close', '2', r, w]));
  fs.writeSync(wf, 'through the pipe');
  const got = Buffer.alloc(64); const n = fs.readSync(rf, got);
  const link = fs.readlinkSync('/proc/self/fd/' + rf);
  sock.write(enc(['pipe-close', '3', r, w])); // already closed: refused
  sock.write(enc(['bogus', '4']));
  sock.write(enc(['oom-watch', '5', 'c1', 'v3', '/sys/fs/cgroup'])); // unknown kind
  sock.write(enc(['oom-watch', '6', 'c1', 'v2', '/nonexistent/cgroup']));
  sock.write(enc(['oom-unwatch', '7', 'c1'])); // never watched
  await wait(300);
  put(result, JSON.stringify({ exits, sleeper, killed, pipe: got.toString('utf8', 0, n), link, replies, ppid: process.ppid }));
  process.exit(5);
})();
`;

/**
 * A program that hibernates twice and reports what it was handed each time
 * the reaper runs it again: argv[2] the result prefix (result.N for run N),
 * argv[3] a FIFO to hand over (watched), argv[4] a file to hand over (not
 * watched). Run 1 leaves an orphan that exits 1 s later (while asleep), run 2
 * hands the same fds over again, run 3 reads the FIFO and exits 5.
 */
const HIBERNATING_CHILD = `
${CONTROL_CLIENT}
const [result, fifo, file] = process.argv.slice(2);
(async () => {
  let run = 1;
  while (fs.existsSync(result + '.' + run)) run++;
  const env = process.env.BERTH_SHIM_RESUME;
  const handed = env ? Object.fromEntries(env.split(' ').map((x) => x.split('=')).map(([n, f]) => [n, +f])) : {};
  await wait(200); // the queued exits come first on the channel
  const out = { pid: process.pid, ppid: process.ppid, env, exits };
  if (run === 1) {
    const o = cp.spawnSync('sh', ['-c', 'sh -c "sleep 1; exit 3" >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
    out.orphan = +o.stdout.trim();
    handed['wake.fifo'] = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    handed.kept = fs.openSync(file, 'a');
    out.refused = [(await req('stash', 'bad=name', String(handed.kept), '0'))[2], (await req('stash', 'gone', '999', '0'))[2]];
  }
  if (run <= 2) {
    out.replies = [await req('stash', 'wake.fifo', String(handed['wake.fifo']), '1'), await req('stash', 'kept', String(handed.kept), '0'), await req('hibernate')].map((r) => r[0]);
    put(result + '.' + run, JSON.stringify(out));
    process.exit(0);
  }
  const data = Buffer.alloc(64); const n = fs.readSync(handed['wake.fifo'], data);
  out.got = data.toString('utf8', 0, n);
  fs.writeSync(handed.kept, 'written by the third server');
  put(result + '.' + run, JSON.stringify(out));
  process.exit(5);
})();
`;

/**
 * Run 1 says it hibernates, then a SIGTERM reaches the reaper before it has
 * exited (as when one comes just as a server goes to sleep); run 2 reports
 * the signal it was handed and exits 7.
 */
const SIGNALLED_WHILE_LEAVING = `
${CONTROL_CLIENT}
const result = process.argv[2];
(async () => {
  if (!fs.existsSync(result + '.1')) {
    await req('hibernate');
    put(result + '.1', '{}');
    process.kill(process.ppid, 'SIGTERM');
    await wait(300);
    process.exit(0);
  }
  put(result + '.2', JSON.stringify({ signal: process.env.BERTH_SHIM_SIGNAL ?? null }));
  process.exit(7);
})();
`;

describeE2E('shim: native entry points', () => {
  let dir: string;
  const started: ChildProcess[] = [];
  beforeAll(() => ensureBuilt(), 120_000);
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-')); });
  afterEach(() => {
    for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    unmountUnder(dir);
    execFileSync('rm', ['-rf', '--one-file-system', dir]);
  });

  it('shim-mount mounts, remounts and reports the failing call with its errno', async () => {
    const t = path.join(dir, 'm');
    fs.mkdirSync(t);
    const ok = await run(['shim-mount', 'mount', '', 'tmpfs', t, 'tmpfs', String(0x2 | 0x4), 'size=1m,mode=700']);
    expect(ok.code).toBe(0);
    expect(mountsUnder(t)).toEqual([t]);
    const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === t)!;
    expect(line).toMatch(/nosuid,nodev/);
    expect((fs.statSync(t).mode & 0o777).toString(8)).toBe('700');
    const bad = await run(['shim-mount', 'umount', t, '0', 'umount', t, '0']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('fail 1 22\n'); // the second unmount: EINVAL, not mounted
    expect(mountsUnder(t)).toEqual([]);
    const usage = await run(['shim-mount', 'frobnicate']);
    expect(usage.code).toBe(2);
  });

  it('shim-reaper reaps orphans, reports raw statuses, hands out pipes and exits with its child', async () => {
    const sock = path.join(dir, 's');
    const result = path.join(dir, 'result.json');
    const script = path.join(dir, 'child.js');
    fs.writeFileSync(script, CHILD);
    const reaper = spawn(NSEXEC, ['shim-reaper', sock, '3', '4', '--', process.execPath, script, result], { stdio: ['pipe', 'pipe', 'inherit'] });
    const report = await new Promise<string>((r) => reaper.stdout.once('data', (d: Buffer) => r(d.toString())));
    expect(report).toBe(`ok ${reaper.pid}\n`);
    expect(fs.statSync(sock).isSocket()).toBe(true);
    reaper.stdin.end(); // go
    const code = await new Promise<number | null>((r) => reaper.once('exit', r));
    expect(code).toBe(5); // the child's status
    const res = JSON.parse(fs.readFileSync(result, 'utf8'));
    expect(res.ppid).toBe(reaper.pid);
    const byPid = new Map<number, number>(res.exits.map((e: { pid: number; status: number }) => [e.pid, exitStatus(e.status)]));
    expect(byPid.get(res.sleeper)).toBe(0);
    expect(byPid.get(res.killed)).toBe(137);
    expect([...byPid.values()]).toContain(7); // the `exit 7` orphan
    for (const e of res.exits) expect(Math.abs(e.sec - Date.now() / 1000)).toBeLessThan(60);
    expect(res.pipe).toBe('through the pipe');
    expect(res.link).toMatch(/^pipe:\[\d+\]$/);
    expect(res.replies['2'][0]).toBe('ok');
    expect(res.replies['3']).toEqual(['err', '3', '9']); // EBADF: only pipes it made, once
    expect(res.replies['4']).toEqual(['err', '4', '22']); // EINVAL: unknown operation
    expect(res.replies['5']).toEqual(['err', '5', '22']); // EINVAL: an OOM watch of neither v1 nor v2
    expect(res.replies['6']).toEqual(['err', '6', '2']); // ENOENT: no such cgroup
    expect(res.replies['7']).toEqual(['err', '7', '2']); // ENOENT: no such watch
  });

  it('shim-reaper holds a hibernated child\'s fds, queues exits, and runs it again for an exit or a readable fd', async () => {
    const sock = path.join(dir, 's');
    const result = path.join(dir, 'result');
    const fifo = path.join(dir, 'wake.fifo');
    const file = path.join(dir, 'kept.txt');
    execFileSync('mkfifo', [fifo]);
    const script = path.join(dir, 'child.js');
    fs.writeFileSync(script, HIBERNATING_CHILD);
    const reaper = spawn(NSEXEC, ['shim-reaper', sock, '3', '4', '--', process.execPath, script, result, fifo, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(reaper);
    await new Promise<string>((r) => reaper.stdout.once('data', (d: Buffer) => r(d.toString())));
    reaper.stdin.end();
    const exited = new Promise<number | null>((r) => reaper.once('exit', r));
    const read = (n: number) => JSON.parse(fs.readFileSync(`${result}.${n}`, 'utf8'));
    const gone = (pid: number) => { try { process.kill(pid, 0); return false; } catch { return true; } };

    await eventually(() => fs.existsSync(`${result}.1`), 10_000, 'run 1 to hibernate');
    const one = read(1);
    expect(one.env).toBeUndefined(); // a first start
    expect(one.refused).toEqual(['22', '9']); // EINVAL: a name with "="; EBADF: no such fd
    expect(one.replies).toEqual(['ok', 'ok', 'ok']);
    // The orphan exits while no server runs: the reaper keeps it and runs the program again.
    await eventually(() => fs.existsSync(`${result}.2`), 10_000, 'run 2, woken by the exit');
    const two = read(2);
    expect(two.ppid).toBe(reaper.pid);
    expect(gone(one.pid)).toBe(true);
    expect(two.env).toBe('wake.fifo=5 kept=6');
    expect(two.exits.map((e: { pid: number; status: number }) => [e.pid, exitStatus(e.status)])).toEqual([[one.orphan, 3]]);
    await eventually(() => gone(two.pid), 5000, 'run 2 to exit');
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.existsSync(`${result}.3`)).toBe(false); // asleep: nothing wakes it
    const w = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.writeSync(w, 'wake up');
    fs.closeSync(w);
    expect(await exited).toBe(5); // run 3's status: it did not hibernate
    const three = read(3);
    expect(three.env).toBe('wake.fifo=5 kept=6');
    expect(three.got).toBe('wake up');
    expect(three.exits).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toBe('written by the third server');
  });

  it('shim-reaper keeps a SIGTERM that comes while its server leaves to hibernate for the next server', async () => {
    const script = path.join(dir, 'child.js');
    fs.writeFileSync(script, SIGNALLED_WHILE_LEAVING);
    const result = path.join(dir, 'result');
    const reaper = spawn(NSEXEC, ['shim-reaper', path.join(dir, 's'), '3', '4', '--', process.execPath, script, result], { stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(reaper);
    await new Promise<string>((r) => reaper.stdout.once('data', (d: Buffer) => r(d.toString())));
    reaper.stdin.end();
    // not forwarded to the leaving server (lost with it): run 2 gets it and ends the shim
    expect(await new Promise<number | null>((r) => reaper.once('exit', r))).toBe(7);
    expect(JSON.parse(fs.readFileSync(`${result}.2`, 'utf8'))).toEqual({ signal: '15' });
  });

  it('shim-reaper reports a socket it cannot bind', async () => {
    const r = await run(['shim-reaper', path.join(dir, 'no', 'such', 'dir', 's'), '3', '4', '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^error 2 listen /); // ENOENT
  });
});
