/**
 * berthctl run and berthctl tasks over berthd: a root filesystem directory
 * run in the foreground (output, exit status, stdin), detached with exec,
 * ps, metrics, pause/resume, kill and rm, on a terminal; and an image,
 * unpacked by import, run from a snapshot (and a packed one refused).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeBusyboxLayout, tarLayout } from './support/image';
import { berthctlJs } from './support/daemon';
import { describeTasks, parseTaskList, startTaskEnv, waitFor, type TaskEnv } from './support/tasks';

let t: TaskEnv;
beforeAll(async () => {
  t = await startTaskEnv();
}, 60_000);
afterAll(async () => {
  await t?.cleanup();
});

const ok = async (args: string[], input?: string) => {
  const r = await t.berthctl(args, { input });
  if (r.code !== 0) throw new Error(`berthctl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
};

describeTasks('berthctl run and tasks', () => {
  test('run --rootfs: output, exit status, stdin, for both runtimes', async () => {
    const r = await t.berthctl(['run', '--rootfs', '--rm', t.rootfs, 'fg', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r).toMatchObject({ code: 7, stdout: 'out\n' });
    expect(r.stderr).toContain('err');
    const cat = await t.berthctl(['run', '--rootfs', '--rm', '--runtime', 'io.containerd.runc.v2', t.rootfs, 'cat', '--', 'sh', '-c', 'cat; echo done'], { input: 'from stdin\n' });
    expect(cat).toMatchObject({ code: 0, stdout: 'from stdin\ndone\n' });
    const env = await t.berthctl(['run', '--rootfs', '--rm', '-e', 'GREETING=hi', '--cwd', '/tmp', '-u', 'nobody', t.rootfs, 'env', '--', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u)']);
    expect(env.stdout).toBe('hi /tmp 65534\n');
    expect(await ok(['containers', 'ls', '-q'])).toBe('');
  });

  test('run -d, tasks exec/ps/metrics/pause/resume/kill/rm', async () => {
    await ok(['run', '--rootfs', '-d', t.rootfs, 'bg', 'sleep', '1000']);
    expect(parseTaskList(await ok(['tasks', 'ls'])).bg.status).toBe('RUNNING');
    const ex = await t.berthctl(['tasks', 'exec', 'bg', '--', 'sh', '-c', 'echo in-exec; exit 4']);
    expect(ex).toMatchObject({ code: 4, stdout: 'in-exec\n' });
    await ok(['tasks', 'exec', '-d', '--exec-id', 'sleeper', 'bg', 'sleep', '100']);
    expect(await ok(['tasks', 'ps', 'bg'])).toMatch(/^\d+\s+sleeper$/m);
    expect(await ok(['tasks', 'metrics', 'bg'])).toMatch(/memory\.usage(_in_bytes)?\s+\d+/);
    const json = JSON.parse(await ok(['--format', 'json', 'tasks', 'metrics', 'bg']));
    expect(json[0]).toMatchObject({ id: 'bg', typeUrl: expect.stringMatching(/cgroups\.v[12]\.Metrics/) });
    await ok(['tasks', 'pause', 'bg']);
    expect(parseTaskList(await ok(['tasks', 'ls'])).bg.status).toBe('PAUSED');
    await ok(['tasks', 'resume', 'bg']);
    await ok(['tasks', 'kill', '--exec-id', 'sleeper', '-s', 'KILL', 'bg']);
    const rm = await t.berthctl(['tasks', 'rm', 'bg']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/running|FailedPrecondition/);
    const forced = await t.berthctl(['tasks', 'rm', '-f', 'bg']);
    expect(forced).toMatchObject({ code: 0, stdout: 'bg\n' });
    expect(forced.stderr).toContain('137');
    await ok(['containers', 'rm', 'bg']);
    expect(fs.existsSync(t.bundle('bg'))).toBe(false);
  });

  test('tasks start runs a created container attached; errors name what is missing', async () => {
    await ok(['run', '--rootfs', '-d', t.rootfs, 'again', '--', 'sh', '-c', 'echo started; exit 2']);
    await waitFor('the first run to stop', async () => parseTaskList(await ok(['tasks', 'ls'])).again?.status === 'STOPPED');
    await ok(['tasks', 'rm', 'again']);
    const r = await t.berthctl(['tasks', 'start', 'again']);
    expect(r).toMatchObject({ code: 2, stdout: 'started\n' });
    await ok(['containers', 'rm', 'again']);
    const missing = await t.berthctl(['tasks', 'start', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/container "nope" in namespace .*not found/);
    const kill = await t.berthctl(['tasks', 'kill', 'nope']);
    expect(kill.stderr).toMatch(/not found/);
  });

  test('run -t: a terminal, typed input, the exit status', async () => {
    const r = await t.pty([process.execPath, berthctlJs, '--address', t.daemon.address, '--namespace', t.ns, 'run', '-t', '--rm', '--rootfs', t.rootfs, 'tty', 'sh'], {
      input: 'tty; echo typed-$((6*7)); exit 5\n',
      inputAfter: 2,
    });
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(r.stdout).toContain('typed-42');
    expect(r.code).toBe(5);
  });

  test('run IMAGE: import unpacks the image, run mounts its snapshot; a packed image is refused', async () => {
    const work = path.join(t.dir, 'image');
    fs.mkdirSync(work);
    const layout = await makeBusyboxLayout(work);
    const archive = await tarLayout(layout.dir, path.join(work, 'busybox.tar'));
    await ok(['images', 'import', '--progress=false', '--base-name', 'example.com/busybox', archive]);
    const r = await t.berthctl(['run', '--rm', 'example.com/busybox:latest', 'img', '--', 'sh', '-c', 'cat /hello.txt; exit 6']);
    expect(r).toMatchObject({ code: 6, stdout: 'hello from berth\n' });
    expect(await ok(['containers', 'ls', '-q'])).not.toContain('img');
    expect(await ok(['snapshots', 'ls'])).not.toMatch(/^img\s/m); // --rm removed its snapshot
    await ok(['images', 'rm', '--sync', 'example.com/busybox:latest']);
    await ok(['images', 'import', '--progress=false', '--no-unpack', '--base-name', 'example.com/busybox', archive]);
    const packed = await t.berthctl(['run', '--rm', 'example.com/busybox:latest', 'img2', 'true']);
    expect(packed.code).toBe(1);
    expect(packed.stderr).toMatch(/not unpacked in snapshotter overlayfs/);
    expect(await ok(['containers', 'ls', '-q'])).not.toContain('img2');
    const gone = await t.berthctl(['run', 'example.com/no-such:image', 'x', 'true']);
    expect(gone.stderr).toMatch(/not found/);
  });
});
