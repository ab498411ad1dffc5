/**
 * exec, pause/resume and ps through the command line, as runc's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { errorMessage, Runtime } from '../support/runtime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeIf(requires('root'))('exec, pause, resume, ps', () => {
  let rt: Runtime;
  let id: string;
  let bundle: ReturnType<typeof setupBundle>;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
    // The counter is replaced whole (mv), so a read never sees it half-written.
    bundle = setupBundle(['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/counter; sleep 0.05; done']);
    bundle.update((c) => (c.root!.readonly = false));
    id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', bundle.dir, id]);
  });
  afterEach(cleanupAll);

  test('an exec\'d process shares the init\'s namespaces and cgroup; its exit status comes back', () => {
    const initPid = rt.state(id).pid;
    const r = rt.run(['exec', id, 'sh', '-c', 'for n in pid mnt net ipc uts user cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup; exit 3']);
    expect(r.status).toBe(3);
    const [nsLines, cgLines] = [r.stdout.split('\n').slice(0, 7), r.stdout.split('\n').slice(7).filter(Boolean)];
    const initNs = ['pid', 'mnt', 'net', 'ipc', 'uts', 'user', 'cgroup'].map((n) => fs.readlinkSync(`/proc/${initPid}/ns/${n}`));
    expect(nsLines).toEqual(initNs);
    expect(cgLines.sort()).toEqual(fs.readFileSync(`/proc/${initPid}/cgroup`, 'utf8').trim().split('\n').sort());
  });

  test('exec flags: user, env, cwd, additional gids, capabilities; -d with --pid-file', async () => {
    const r = rt.ok(['exec', '-u', '1000:1000', '-g', '5', '-e', 'FOO=bar baz', '--cwd', '/tmp', id, 'sh', '-c', 'id; pwd; echo "$FOO"']);
    expect(r.stdout).toBe('uid=1000(test) gid=1000(test) groups=5(tty)\n/tmp\nbar baz\n');
    const caps = rt.ok(['exec', '--cap', 'CAP_SYS_ADMIN', id, 'grep', 'CapEff', '/proc/self/status']).stdout;
    expect(BigInt(`0x${caps.split(/\s+/)[1]}`) & (1n << 21n)).toBe(1n << 21n);
    const pidFile = path.join(bundle.dir, 'exec.pid');
    rt.ok(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '30']);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('sleep\u000030\u0000');
    expect(JSON.parse(rt.ok(['ps', '--format', 'json', id]).stdout)).toContain(pid);
  });

  test('--process takes a runtime-spec process', () => {
    const file = path.join(bundle.dir, 'process.json');
    fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo $X; id -u'], env: ['X=from-process-json', 'PATH=/bin'], cwd: '/', user: { uid: 65534, gid: 65534 } }));
    expect(rt.ok(['exec', '--process', file, id]).stdout).toBe('from-process-json\n65534\n');
  });

  test('pause freezes every process, resume thaws them; the state says paused', async () => {
    const counter = () => Number(fs.readFileSync(path.join(bundle.rootfs, 'tmp/counter'), 'utf8'));
    await sleep(300);
    rt.ok(['pause', id]);
    expect(rt.state(id).status).toBe('paused');
    const frozen = counter();
    await sleep(500);
    expect(counter()).toBe(frozen);
    const r = rt.run(['exec', id, 'true']);
    expect(errorMessage(r.stderr)).toMatch(/cannot exec in a paused container/);
    expect(errorMessage(rt.run(['pause', id]).stderr)).toBe('container not running');
    rt.ok(['resume', id]);
    expect(rt.state(id).status).toBe('running');
    await sleep(500);
    expect(counter()).toBeGreaterThan(frozen);
    expect(errorMessage(rt.run(['resume', id]).stderr)).toBe('container not paused');
  });

  test('ps: pids as JSON, or ps(1) lines of the container\'s processes only', () => {
    const pid = rt.state(id).pid;
    expect(JSON.parse(rt.ok(['ps', '-f', 'json', id]).stdout)).toContain(pid);
    const table = rt.ok(['ps', id]).stdout.trim().split('\n');
    expect(table[0]).toMatch(/PID/);
    expect(table.slice(1).every((l) => /sh -c|sleep/.test(l))).toBe(true);
    const custom = rt.ok(['ps', id, '-o', 'pid,comm']).stdout.trim().split('\n');
    expect(custom[0].trim()).toBe('PID COMMAND');
    expect(custom.some((l) => l.trim().startsWith(`${pid} `))).toBe(true);
  });

  test('exec into a stopped or unknown container fails clearly', async () => {
    rt.ok(['kill', id, 'KILL']);
    for (let i = 0; i < 100 && rt.state(id).status !== 'stopped'; i++) await sleep(20);
    expect(errorMessage(rt.run(['exec', id, 'true']).stderr)).toMatch(/cannot exec in a stopped container/);
    expect(errorMessage(rt.run(['exec', 'no-such-container', 'true']).stderr)).toBe('exec failed: container does not exist');
    expect(errorMessage(rt.run(['exec', id]).stderr)).toMatch(/process args cannot be empty|stopped/);
  });
});
