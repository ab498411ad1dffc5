/**
 * The shim's native entry points, driven directly (runtime/native/shim.c):
 * `shim-mount` performs and reports mount(2)/umount2(2) calls, and
 * `shim-reaper` is a subreaper that reports every orphan's exit with its raw
 * status, hands out pipes, and exits with its child's status.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exitStatus } from '../../shim/src/native/channel';
import { DIST, ensureBuilt, mountsUnder, unmountUnder } from './helpers/containerd';
import { describeE2E } from './helpers/setup';

const NSEXEC = path.join(DIST, 'berth-nsexec');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(NSEXEC, args, (err, stdout, stderr) => resolve({ code: err ? (err as { code: number }).code : 0, stdout, stderr }));
  });
}

/**
 * The program the reaper runs: speaks the control protocol in plain JS, makes
 * orphans, and writes what it saw to RESULT as JSON.
 */
const CHILD = `
const fs = require('fs'), net = require('net'), cp = require('child_process');
const result = process.argv[2];
const sock = new net.Socket({ fd: 4, readable: true, writable: true });
const enc = (f) => { const b = Buffer.from(f.map((x) => x + '\\0').join('')); const h = Buffer.alloc(4); h.writeUInt32LE(b.length); return Buffer.concat([h, b]); };
let buf = Buffer.alloc(0); const exits = []; const replies = {};
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
    const n = buf.readUInt32LE(0); const f = buf.toString('utf8', 4, 4 + n).split('\\0'); f.pop(); buf = buf.subarray(4 + n);
    if (f[0] === 'exit') exits.push({ pid: +f[1], status: +f[2], sec: +f[3] });
    else replies[f[1]] = f;
  }
});
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
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
  await wait(300);
  fs.writeFileSync(result, JSON.stringify({ exits, sleeper, killed, pipe: got.toString('utf8', 0, n), link, replies, ppid: process.ppid }));
  process.exit(5);
})();
`;

describeE2E('shim: native entry points', () => {
  let dir: string;
  beforeAll(() => ensureBuilt(), 120_000);
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-')); });
  afterEach(() => {
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
  });

  it('shim-reaper reports a socket it cannot bind', async () => {
    const r = await run(['shim-reaper', path.join(dir, 'no', 'such', 'dir', 's'), '3', '4', '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^error 2 listen /); // ENOENT
  });
});
