/**
 * process.terminal with --console-socket: the runtime makes a pty inside the
 * container and sends its master over the socket exactly as runc does
 * (SCM_RIGHTS, name "/dev/ptmx"), so conmon and containerd's shim can drive it.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll, track } from '../support/cleanup';
import { probe } from '../support/probes';
import { describeIf, requires } from '../support/requires';
import { errorMessage, Runtime, runtimeBinary } from '../support/runtime';

describeIf(requires('root'))('terminal', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  test('the pty master arrives on the console socket; the process has a controlling tty', async () => {
    const b = setupBundle(['sh', '-c', 'tty; stty size; read line; echo "got $line"']);
    b.update((c) => {
      c.process!.terminal = true;
      c.process!.consoleSize = { height: 40, width: 120 };
    });
    const sock = path.join(b.dir, 'console.sock');
    const out = path.join(b.dir, 'console.out');
    const recv = spawn(probe('recvtty'), [sock, out, 'hello\n'], { stdio: ['ignore', 'pipe', 'inherit'] });
    track.pid(recv.pid!);
    let said = '';
    recv.stdout!.on('data', (d) => (said += d));
    await new Promise<void>((resolve) => recv.stdout!.once('data', () => resolve()));
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--console-socket', sock, '--bundle', b.dir, id]);
    const code = await new Promise<number>((resolve) => recv.on('exit', (c) => resolve(c ?? -1)));
    expect(code).toBe(0);
    expect(said).toContain('name=/dev/ptmx');
    const text = fs.readFileSync(out, 'utf8').replace(/\r/g, '');
    expect(text).toMatch(/^\/dev\/pts\/0$/m);
    expect(text).toMatch(/^40 120$/m);
    expect(text).toMatch(/got hello/);
  });

  test('run -t in the foreground without a console socket carries the terminal itself, as runc does', () => {
    const b = setupBundle(['sh', '-c', 'tty; stty size; read x; echo "got $x"; exit 4']);
    b.update((c) => (c.process!.terminal = true));
    const cmd = `stty cols 100 rows 30; ${runtimeBinary()} --root ${rt.root} run --bundle ${b.dir} ${rt.track(uniqueId())}; echo "rc=$?"`;
    // script(1) gives the runtime a terminal of its own; the line arrives once the container reads.
    const r = spawnSync('sh', ['-c', `(sleep 1; echo hello) | script -qec '${cmd}' /dev/null`], { encoding: 'utf8', timeout: 60_000 });
    const out = r.stdout.replace(/\r/g, '');
    expect(out).toMatch(/^\/dev\/pts\/0$/m);
    expect(out).toMatch(/^30 100$/m);
    expect(out).toMatch(/^got hello$/m);
    expect(out).toMatch(/^rc=4$/m);
  });

  test('a terminal without a console socket is refused for create, as runc does', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.process!.terminal = true));
    const r = rt.run(['create', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/cannot allocate tty if runc will detach without setting console socket/);
  });

  test('a console socket that nobody listens on is a clear error', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.process!.terminal = true));
    const r = rt.run(['create', '--console-socket', path.join(b.dir, 'nobody.sock'), '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/nobody\.sock|no such file/i);
  });
});
