/**
 * The shim outlives containerd: containers keep running while containerd is
 * SIGKILLed, an exit that happens meanwhile is kept (with its status) and its
 * event delivered after the restart, and everything is reaped and cleaned
 * up afterwards (no zombie, no shim, no mount left).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountsUnder } from './helpers/containerd';
import { BERTH, describeE2E, eventually, exited, expectNoZombiesOf, IMAGE_REF, RUNTIME, taskStatus, useContainerd } from './helpers/setup';

describeE2E('shim: containerd restart', () => {
  const env = useContainerd();

  it('keeps containers running across a containerd SIGKILL and reaps them after', async () => {
    const c = env.c;
    await c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'rs-long', 'sleep', '100000']);
    await c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'rs-short', 'sh', '-c', 'sleep 3; exit 5']);
    await eventually(async () => (await taskStatus(c, 'rs-long')) === 'RUNNING' && (await taskStatus(c, 'rs-short')) === 'RUNNING', 10_000, 'both running');
    // A berth shim is its reaper; its Node server may hibernate and come back as another pid.
    const shims = RUNTIME === 'io.containerd.berth.v2' ? c.reaperPids() : c.runcShimPids();
    expect(shims.length).toBeGreaterThanOrEqual(1);

    await c.kill9();
    // rs-short exits while containerd is down
    await new Promise((r) => setTimeout(r, 4000));
    for (const pid of shims) expect(() => process.kill(pid, 0)).not.toThrow(); // shims survived
    await c.launch();

    await eventually(async () => (await taskStatus(c, 'rs-short')) === 'STOPPED', 15_000, 'rs-short stopped');
    expect(await taskStatus(c, 'rs-long')).toBe('RUNNING');
    const out = await c.ctrOk(['tasks', 'exec', '--exec-id', 'after', 'rs-long', 'echo', 'still-here']);
    expect(out).toBe('still-here\n');

    const del = await c.ctr(['tasks', 'delete', 'rs-short']);
    expect(del.stdout + del.stderr).toMatch(/exit code 5/);
    await c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'rs-long']);
    await eventually(async () => (await taskStatus(c, 'rs-long')) === 'STOPPED', 10_000, 'rs-long stopped');
    const del2 = await c.ctr(['tasks', 'delete', 'rs-long']);
    expect(del2.stdout + del2.stderr).toMatch(/exit code 137/);
    await expectNoZombiesOf(shims);

    // the shims exit after Shutdown, their rootfs mounts are gone
    await eventually(() => shims.every(exited), 10_000, 'the shims to exit');
    expect(mountsUnder(path.join(c.dir, 'state'))).toEqual([]);
  }, 90_000);

  it('cleans up after a shim that dies: the task stops with 137, its processes and mounts are gone', async () => {
    if (RUNTIME !== 'io.containerd.berth.v2') return;
    const c = env.c;
    await c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'rs-orphan', 'sleep', '100000']);
    await eventually(async () => (await taskStatus(c, 'rs-orphan')) === 'RUNNING', 10_000, 'running');
    const bundle = path.join(c.dir, 'state', 'io.containerd.runtime.v2.task', 'default', 'rs-orphan');
    const initPid = Number(fs.readFileSync(path.join(bundle, 'init.pid'), 'utf8'));
    for (const pid of c.shimPids()) process.kill(pid, 'SIGKILL');
    // containerd sees the connection drop and runs `containerd-shim-berth-v2 delete`
    await eventually(async () => (await taskStatus(c, 'rs-orphan')) !== 'RUNNING', 15_000, 'the task to stop');
    await eventually(() => exited(initPid), 10_000, 'the container init to die');
    try {
      await eventually(() => mountsUnder(bundle).length === 0, 10_000, 'the rootfs to be unmounted');
    } catch (err) {
      console.log(c.log().split('\n').filter((l) => /rs-orphan|cleanup|delete/i.test(l)).slice(-20).join('\n'));
      throw err;
    }
    const del = await c.ctr(['tasks', 'delete', 'rs-orphan']);
    expect(del.stdout + del.stderr).toMatch(/137|not found/);
    await c.ctrOk(['containers', 'delete', 'rs-orphan']);
  }, 60_000);
});
