/**
 * Hooks: order, namespaces, the state on stdin, and what a failure does
 * (runtime-spec config.md "POSIX-platform Hooks").
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll, mountsBelow, track } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { errorMessage, isPeer, Runtime } from '../support/runtime';
import type { Hook } from '../../runtime/src/spec/types';

describeIf(requires('root'))('hooks', () => {
  let rt: Runtime;
  let logDir: string;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-hooks-'));
    track.dir(logDir);
    fs.chmodSync(logDir, 0o777);
  });
  afterEach(cleanupAll);

  /** A hook that appends "<name> <status> <pid> <id>" and the mount namespace it ran in to the log. */
  const hook = (name: string, log = `${logDir}/log`): Hook => ({
    path: '/bin/busybox',
    args: ['sh', '-c', `read -r s; echo "${name} $(echo "$s" | sed -e 's/.*"status":"\\([a-z]*\\)".*/\\1/') $(echo "$s" | sed -e 's/.*"pid":\\([0-9]*\\).*/\\1/') $(readlink /proc/self/ns/mnt)" >> ${log}`],
  });

  test('every hook runs once, in order, with the state on stdin, in the right namespace', () => {
    const b = setupBundle(['true']);
    b.update((c) => {
      c.mounts!.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] });
      c.hooks = {
        prestart: [hook('prestart')],
        createRuntime: [hook('createRuntime')],
        createContainer: [hook('createContainer')],
        startContainer: [hook('startContainer', '/hooklog/log')],
        poststart: [hook('poststart')],
        poststop: [hook('poststop')],
      };
    });
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const pid = rt.state(id).pid;
    rt.ok(['start', id]);
    for (let i = 0; i < 100 && rt.state(id).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    rt.ok(['delete', id]);
    const lines = fs.readFileSync(`${logDir}/log`, 'utf8').trim().split('\n').map((l) => l.split(' '));
    expect(lines.map((l) => l[0])).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    const hostMnt = fs.readlinkSync('/proc/self/ns/mnt');
    const byName = Object.fromEntries(lines.map((l) => [l[0], l]));
    // runtime-namespace hooks see the host's mount namespace; container ones the container's
    for (const n of ['prestart', 'createRuntime', 'poststart', 'poststop']) expect(byName[n][3]).toBe(hostMnt);
    for (const n of ['createContainer', 'startContainer']) expect(byName[n][3]).not.toBe(hostMnt);
    expect(byName.prestart.slice(1, 3)).toEqual(['creating', String(pid)]);
    expect(byName.createRuntime[2]).toBe(String(pid));
    expect(byName.poststart[1]).toBe('running');
    expect(byName.poststop[1]).toBe('stopped');
  });

  test('a failing prestart hook fails create, with its output, and leaves nothing behind', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.hooks = { prestart: [{ path: '/bin/busybox', args: ['sh', '-c', 'echo nope from the hook; exit 3'] }] }));
    const id = uniqueId();
    const r = rt.run(['create', '--bundle', b.dir, rt.track(id)]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/hook.*exit status 3.*nope from the hook/s);
    expect(fs.existsSync(path.join(rt.root, id))).toBe(false);
    expect(mountsBelow(b.dir)).toEqual([]);
  });

  test('a hook that overruns its timeout is killed and fails create', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.hooks = { createRuntime: [{ path: '/bin/busybox', args: ['sleep', '30'], timeout: 1 }] }));
    const start = Date.now();
    const r = rt.run(['create', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/timeout|timed out/);
    expect(Date.now() - start).toBeLessThan(20_000);
  });

  test('a failing createContainer hook (run by the init) fails create', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.hooks = { createContainer: [{ path: '/bin/busybox', args: ['sh', '-c', 'echo inner; exit 4'] }] }));
    const r = rt.run(['create', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/hook.*exit status 4.*inner/s);
  });

  // runtime-spec: poststart/poststop failures are logged and the lifecycle goes on (runc 1.1 instead
  // fails start and kills the container) — berth follows the spec, as the issue asks.
  (isPeer() ? test.skip : test)('failing poststart and poststop hooks are warnings: start and delete succeed', () => {
    const b = setupBundle(['sleep', '30']);
    const fail = { path: '/bin/busybox', args: ['false'] };
    b.update((c) => (c.hooks = { poststart: [fail], poststop: [fail] }));
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const s = rt.run(['start', id]);
    expect(s.status).toBe(0);
    expect(s.stderr).toMatch(/poststart hook failed/);
    const d = rt.run(['delete', '--force', id]);
    expect(d.status).toBe(0);
    expect(d.stderr).toMatch(/poststop hook failed/);
  });
});
