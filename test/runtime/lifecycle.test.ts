/**
 * The create / start / state / kill / delete / list / run lifecycle, as runc
 * behaves (run with BERTH_RUNTIME=runc to check the expectations against runc).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { Runtime, errorMessage, isPeer } from '../support/runtime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describeIf(requires('root'))('lifecycle', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  test('create leaves the init waiting; start runs it; it stops; delete removes it', async () => {
    const b = setupBundle(['sh', '-c', 'echo started > /tmp/marker; sleep 0.3']);
    b.update((c) => (c.root!.readonly = false));
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const created = rt.state(id);
    expect(created).toMatchObject({ id, status: 'created', bundle: b.dir });
    expect(created.pid).toBeGreaterThan(0);
    expect(alive(created.pid)).toBe(true);
    expect(fs.existsSync(path.join(b.rootfs, 'tmp/marker'))).toBe(false);

    rt.ok(['start', id]);
    expect(['running', 'stopped']).toContain(rt.state(id).status);
    await waitFor(() => rt.state(id).status === 'stopped', 'the container to stop');
    expect(fs.readFileSync(path.join(b.rootfs, 'tmp/marker'), 'utf8')).toBe('started\n');
    expect(rt.state(id).pid).toBe(0);

    const again = rt.run(['start', id]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('cannot start a container that has stopped');

    rt.ok(['delete', id]);
    const gone = rt.run(['state', id]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain('container does not exist');
  });

  test('the init is pid 1 in its own namespaces, with the configured hostname', () => {
    const b = setupBundle(['sh', '-c', 'echo $$ $(hostname); for n in pid uts mnt net ipc; do readlink /proc/self/ns/$n; done']);
    b.update((c) => (c.hostname = 'berth-test'));
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim().split('\n');
    expect(out[0]).toBe('1 berth-test');
    const host = ['pid', 'uts', 'mnt', 'net', 'ipc'].map((n) => fs.readlinkSync(`/proc/self/ns/${n}`));
    out.slice(1).forEach((ns, i) => expect(ns).not.toBe(host[i]));
  });

  test('run returns the exit status of the container, or 128+signal', () => {
    const b = setupBundle(['sh', '-c', 'exit 7']);
    expect(rt.run(['run', '--bundle', b.dir, rt.track(uniqueId())]).status).toBe(7);
    b.update((c) => (c.process!.args = ['sh', '-c', 'kill -TERM $$; sleep 5']));
    // pid 1 ignores signals it has no handler for, so the shell cannot kill itself with TERM; use a child.
    b.update((c) => (c.process!.args = ['sh', '-c', 'sh -c "kill -KILL \\$\\$"; exit $?']));
    expect(rt.run(['run', '--bundle', b.dir, rt.track(uniqueId())]).status).toBe(137);
  });

  test('run --detach returns at once and the container keeps running; kill stops it', async () => {
    const b = setupBundle(['sleep', '30']);
    const id = rt.track(uniqueId());
    const r = rt.run(['run', '--detach', '--bundle', b.dir, id]);
    expect(r.status).toBe(0);
    const st = rt.state(id);
    expect(st.status).toBe('running');
    expect(alive(st.pid)).toBe(true);
    rt.ok(['kill', id, 'KILL']);
    await waitFor(() => rt.state(id).status === 'stopped', 'the container to stop');
    expect(rt.run(['kill', id, 'KILL']).stderr).toContain('container not running');
    rt.ok(['delete', id]);
  });

  test('kill takes signal names with or without SIG, and numbers; unknown signals are refused', async () => {
    const b = setupBundle(['sh', '-c', 'trap "echo got USR1 > /tmp/sig; exit 0" USR1; while :; do sleep 0.05; done']);
    b.update((c) => (c.root!.readonly = false));
    for (const sig of ['SIGUSR1', 'USR1', '10']) {
      const id = rt.track(uniqueId());
      rt.ok(['run', '-d', '--bundle', b.dir, id]);
      await sleep(100);
      rt.ok(['kill', id, sig]);
      await waitFor(() => rt.state(id).status === 'stopped', `the container to stop on ${sig}`);
      rt.ok(['delete', id]);
    }
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const bad = rt.run(['kill', id, 'FOO']);
    expect(bad.status).toBe(1);
    expect(errorMessage(bad.stderr)).toBe('unknown signal "FOO"');
  });

  test('delete refuses a running container without --force, and kills it with --force', async () => {
    const b = setupBundle(['sleep', '30']);
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const pid = rt.state(id).pid;
    const r = rt.run(['delete', id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/that is not stopped: running/);
    rt.ok(['delete', '--force', id]);
    await waitFor(() => !alive(pid), 'the init to die');
    expect(rt.run(['state', id]).status).toBe(1);
    // --force on a container that does not exist succeeds, as in runc
    expect(rt.run(['delete', '--force', id]).status).toBe(0);
  });

  test('delete of a created container kills its waiting init', async () => {
    const b = setupBundle(['true']);
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const pid = rt.state(id).pid;
    rt.ok(['delete', id]);
    await waitFor(() => !alive(pid), 'the init to die');
  });

  test('list shows containers as a table, as JSON, and ids only with -q', () => {
    const b = setupBundle(['sleep', '30']);
    expect(rt.ok(['list']).stdout).toBe('ID          PID         STATUS      BUNDLE      CREATED     OWNER\n');
    expect(rt.ok(['list', '--format', 'json']).stdout.trim()).toBe('null');
    const ids = [rt.track(uniqueId('a')), rt.track(uniqueId('b'))];
    rt.ok(['create', '--bundle', b.dir, ids[0]]);
    rt.ok(['run', '-d', '--bundle', b.dir, ids[1]]);
    const table = rt.ok(['list']).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table[1]).toMatch(new RegExp(`^${ids[0]}\\s+\\d+\\s+created\\s+${b.dir}\\s+\\S+\\s+root$`));
    expect(table[2]).toMatch(new RegExp(`^${ids[1]}\\s+\\d+\\s+running\\s+`));
    const json = JSON.parse(rt.ok(['list', '-f', 'json']).stdout) as { id: string; status: string }[];
    expect(json.map((c) => [c.id, c.status])).toEqual([[ids[0], 'created'], [ids[1], 'running']]);
    expect(rt.ok(['list', '-q']).stdout).toBe(`${ids[0]}\n${ids[1]}\n`);
  });

  test('state carries the OCI fields and the annotations', () => {
    const b = setupBundle(['true']);
    b.update((c) => (c.annotations = { 'org.example.key': 'value' }));
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const st = rt.state(id);
    expect(Object.keys(st)).toEqual(expect.arrayContaining(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner', 'annotations']));
    expect(st.annotations).toEqual({ 'org.example.key': 'value' });
  });

  test('--pid-file gets the init pid', () => {
    const b = setupBundle(['true']);
    const id = rt.track(uniqueId());
    const pidFile = path.join(b.dir, 'pid');
    rt.ok(['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(rt.state(id).pid);
  });

  test('a duplicate id is refused and the existing container is untouched', () => {
    const b = setupBundle(['true']);
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    const pid = rt.state(id).pid;
    const r = rt.run(['create', '--bundle', b.dir, id]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('container with given ID already exists');
    expect(rt.state(id)).toMatchObject({ status: 'created', pid });
  });

  (isPeer() ? test.skip : test)('features lists what the runtime supports', () => {
    const f = JSON.parse(rt.ok(['features']).stdout);
    expect(f.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    expect(f.mountOptions).toEqual(expect.arrayContaining(['bind', 'rbind', 'ro', 'nosuid', 'rro', 'rprivate', 'tmpcopyup']));
    expect(f.linux.namespaces).toEqual(expect.arrayContaining(['pid', 'network', 'mount', 'user', 'cgroup', 'time']));
  });

  test('spec writes runc\'s default config and refuses to overwrite it', () => {
    const dir = stateRoot();
    rt.ok(['spec', '--bundle', dir]);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(spec.process.args).toEqual(['sh']);
    expect(spec.process.capabilities.bounding).toEqual(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
    expect(spec.linux.namespaces.map((n: { type: string }) => n.type)).toEqual(['pid', 'network', 'ipc', 'uts', 'mount']);
    const again = rt.run(['spec', '--bundle', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('File config.json exists. Remove it first');
  });

  (isPeer() ? test.skip : test)('spec --seccomp starts from the default profile, which a container runs under', () => {
    const b = setupBundle(['sh', '-c', 'echo ok; unshare -n true 2>/dev/null || echo refused']);
    const dir = stateRoot();
    rt.ok(['spec', '--seccomp', '--bundle', dir]);
    const seccomp = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).linux.seccomp;
    expect(seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(seccomp.syscalls.length).toBeGreaterThan(10);
    b.update((c) => (c.linux!.seccomp = seccomp));
    expect(rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout).toBe('ok\nrefused\n');
  });
});
