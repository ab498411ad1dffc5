/**
 * How containers share shims: packed (BERTH_SHIM_GROUP=N, the default is 8),
 * by annotation (io.containerd.runc.v2.group, as pods do), and a shared shim
 * exits only when its last container is gone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BERTH, describeE2E, eventually, IMAGE_REF, RUNTIME, taskStatus, useContainerd } from './helpers/setup';
import type { PrivateContainerd } from './helpers/containerd';

async function addressOf(c: PrivateContainerd, id: string): Promise<string> {
  return fs.readFileSync(path.join(c.dir, 'state', 'io.containerd.runtime.v2.task', 'default', id, 'address'), 'utf8');
}

async function runSleeping(c: PrivateContainerd, id: string, extra: string[] = []): Promise<void> {
  await c.ctrOk(['run', '-d', ...BERTH, ...extra, IMAGE_REF, id, 'sleep', '100000']);
  await eventually(async () => (await taskStatus(c, id)) === 'RUNNING', 10_000, `${id} running`);
}

async function remove(c: PrivateContainerd, id: string): Promise<void> {
  await c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', id]);
  await eventually(async () => (await taskStatus(c, id)) === 'STOPPED', 10_000, `${id} stopped`);
  await c.ctrOk(['tasks', 'delete', id]);
  await c.ctrOk(['containers', 'delete', id]);
}

const berthOnly = RUNTIME === 'io.containerd.berth.v2' ? describeE2E : describe.skip;

berthOnly('shim: grouping (packs of 2)', () => {
  const env = useContainerd({ BERTH_SHIM_GROUP: '2' });

  it('packs up to N containers per shim and exits with the last one', async () => {
    const c = env.c;
    for (const id of ['g1', 'g2', 'g3']) await runSleeping(c, id);
    const [a1, a2, a3] = await Promise.all(['g1', 'g2', 'g3'].map((id) => addressOf(c, id)));
    expect(a1).toBe(a2);
    expect(a3).not.toBe(a1);
    expect(c.reaperPids().length).toBe(2); // two shims (their servers may be hibernating)

    // the shared shim stays while one of its containers lives
    await remove(c, 'g1');
    expect(await taskStatus(c, 'g2')).toBe('RUNNING');
    expect((await c.ctrOk(['tasks', 'exec', '--exec-id', 'e', 'g2', 'echo', 'alive'])).trim()).toBe('alive');
    expect(fs.existsSync(a1.replace('unix://', ''))).toBe(true);
    // a new container fills the free place
    await runSleeping(c, 'g4');
    expect(await addressOf(c, 'g4')).toBe(a1);

    for (const id of ['g2', 'g3', 'g4']) await remove(c, id);
    await eventually(() => c.shimPids().length === 0, 10_000, 'the shims to exit');
    expect(fs.existsSync(a1.replace('unix://', ''))).toBe(false);
  }, 90_000);

  it('puts annotated containers in their group\'s shim', async () => {
    const c = env.c;
    await runSleeping(c, 'pod-a', ['--label', 'io.containerd.runc.v2.group=pod1']);
    await runSleeping(c, 'pod-b', ['--label', 'io.containerd.runc.v2.group=pod1']);
    await runSleeping(c, 'pod-c', ['--label', 'io.containerd.runc.v2.group=pod1']); // beyond the pack size: groups are not packs
    const [a, b, d] = await Promise.all(['pod-a', 'pod-b', 'pod-c'].map((id) => addressOf(c, id)));
    expect(b).toBe(a);
    expect(d).toBe(a);
    for (const id of ['pod-a', 'pod-b', 'pod-c']) await remove(c, id);
  }, 90_000);
});
