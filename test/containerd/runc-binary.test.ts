/**
 * The real containerd (Debian's 1.6) running containers with berth-runtime in
 * place of runc: `ctr run --runc-binary`, through containerd's own runc shim.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cleanupAll } from '../support/cleanup';
import { startContainerd, type Containerd } from '../support/containerd';
import { makeBusyboxImage, type TestImage } from '../support/image';
import { describeIf, requires } from '../support/requires';
import { runtimeBinary } from '../support/runtime';

describeIf(requires('root', 'containerd'))('containerd with --runc-binary berth-runtime', () => {
  let ctrd: Containerd;
  let image: TestImage;
  const runtime = path.resolve(runtimeBinary());

  beforeAll(async () => {
    image = makeBusyboxImage();
    ctrd = await startContainerd();
    const imp = ctrd.ctr(['images', 'import', image.archive]);
    expect(imp.stderr).toBe('');
    expect(imp.status).toBe(0);
  }, 120_000);
  afterAll(cleanupAll);

  let n = 0;
  const id = () => `berth-ctr-${process.pid}-${n++}`;

  test('runs a container: output and exit status', () => {
    const r = ctrd.ctr(['run', '--rm', '--runc-binary', runtime, image.name, id(), 'sh', '-c', 'echo hello from $(hostname); exit 7']);
    expect(r.stdout).toMatch(/^hello from /);
    expect(r.status).toBe(7);
  });

  test('a detached container can be listed, killed and removed', async () => {
    const cid = id();
    expect(ctrd.ctr(['run', '-d', '--runc-binary', runtime, image.name, cid, 'sleep', '60']).status).toBe(0);
    const ls = ctrd.ctr(['tasks', 'ls']).stdout;
    expect(ls).toMatch(new RegExp(`${cid}\\s+\\d+\\s+RUNNING`));
    ctrd.ctr(['tasks', 'kill', '-s', 'SIGKILL', cid]);
    for (let i = 0; i < 100 && !/STOPPED/.test(ctrd.ctr(['tasks', 'ls']).stdout); i++) await new Promise((r) => setTimeout(r, 50));
    expect(ctrd.ctr(['tasks', 'ls']).stdout).toMatch(new RegExp(`${cid}\\s+\\d+\\s+STOPPED`));
    expect(ctrd.ctr(['tasks', 'rm', cid]).status).toBe(0);
    expect(ctrd.ctr(['containers', 'rm', cid]).status).toBe(0);
  });

  test('ctr run -t gives the container a terminal (console socket)', () => {
    const cmd = ['ctr', '--address', ctrd.address, 'run', '--rm', '-t', '--runc-binary', runtime, image.name, id(), 'sh', '-c', 'tty; exit 5'];
    // script(1) gives ctr a terminal of its own, as a user's shell would.
    const r = spawnSync('script', ['-qec', cmd.map((a) => `'${a}'`).join(' '), '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.replace(/\r/g, '')).toMatch(/\/dev\/pts\/0/);
    expect(r.status).toBe(5);
  });
});
