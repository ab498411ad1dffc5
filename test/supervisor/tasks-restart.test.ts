/**
 * Containers outlive berthd: after a SIGKILL and a restart on the same
 * root, state and socket, berthd reconnects to the shims from the bundles'
 * address files; running tasks are still running (same pids), one that
 * exited while berthd was down reports its status, Wait and TaskExit work
 * for exits after the restart, and a shim that died meanwhile is cleaned up.
 * Each task has a shim of its own (BERTH_SHIM_GROUP=container), so that one
 * can die alone.
 */
import * as fs from 'node:fs';
import type { Client } from '../../supervisor/src/client/client';
import { decodeEvent } from '../../supervisor/src/events/exchange';
import { peerMode } from './support/daemon';
import { describeTasks, listProcesses, mountsUnder, parseTaskList, RUNTIMES, startTaskEnv, waitFor, type TaskEnv } from './support/tasks';

let t: TaskEnv;
beforeAll(async () => {
  t = await startTaskEnv({ env: { BERTH_SHIM_GROUP: 'container' } });
}, 60_000);
afterAll(async () => {
  await t?.cleanup();
});

describeTasks(peerMode ? 'containerd restart (the peer)' : 'berthd restart', () => {
  test('tasks survive a SIGKILL of the daemon, and their exits are still reported', async () => {
    const ids: Record<string, { runs: string; exits: string; dies: string }> = {};
    for (const rt of RUNTIMES) {
      const s = rt.split('.')[2];
      ids[rt] = { runs: `${s}-runs`, exits: `${s}-exits`, dies: `${s}-dies` };
      await t.ctrOk(['run', '-d', '--rootfs', '--runtime', rt, t.rootfs, ids[rt].runs, '/bin/sleep', '1000']);
      // exits with 3 once told to, while berthd is down
      await t.ctrOk(['run', '-d', '--rootfs', '--runtime', rt, t.rootfs, ids[rt].exits, '/bin/sh', '-c', `while [ ! -e /tmp/go-${s} ]; do sleep 0.1; done; exit 3`]);
      await t.ctrOk(['run', '-d', '--rootfs', '--runtime', rt, t.rootfs, ids[rt].dies, '/bin/sleep', '1000']);
    }
    const before = parseTaskList(await t.ctrOk(['tasks', 'ls']));
    const diesShims: number[] = [];
    for (const rt of RUNTIMES) {
      const address = fs.readFileSync(`${t.bundle(ids[rt].dies)}/address`, 'utf8').replace(/^unix:\/\//, '');
      diesShims.push(...listProcesses().filter((p) => p.cmdline.includes(address) || (p.cmdline.includes('containerd-shim-runc-v2') && p.cmdline.includes(`-address ${t.daemon.address} `) && p.cmdline.includes(`-id ${ids[rt].dies} `))).map((p) => p.pid));
    }
    expect(diesShims.length).toBeGreaterThanOrEqual(2);

    // berthd goes away; meanwhile one task exits and one shim is killed
    await t.daemon.stop('SIGKILL');
    for (const p of diesShims) process.kill(p, 'SIGKILL');
    for (const rt of RUNTIMES) fs.writeFileSync(`${t.rootfs}/tmp/go-${rt.split('.')[2]}`, '');
    const gone = (pid: number) => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
      } catch {
        return true; // reaped between two looks
      }
    };
    await waitFor('the tasks to exit while berthd is down', () => RUNTIMES.every((rt) => gone(before[ids[rt].exits].pid)));
    await t.restart();

    const c: Client = t.daemon.client(t.ns);
    const after = parseTaskList(await t.ctrOk(['tasks', 'ls']));
    for (const rt of RUNTIMES) {
      const { runs, exits, dies } = ids[rt];
      expect(after[runs]).toEqual({ pid: before[runs].pid, status: 'RUNNING' });
      await waitFor(`${exits} to be stopped`, async () => (await c.call('tasks', 'Get', { containerId: exits })).process.status === 'STOPPED');
      expect((await c.call('tasks', 'Get', { containerId: exits })).process).toMatchObject({ status: 'STOPPED', exitStatus: 3 });
      expect((await c.call('tasks', 'Wait', { containerId: exits })).exitStatus).toBe(3);
      // the dead shim's task is gone, with its bundle, mounts and container
      expect(after[dies]).toBeUndefined();
      expect(fs.existsSync(t.bundle(dies))).toBe(false);
      expect(mountsUnder(t.bundle(dies))).toEqual([]);
      expect(fs.existsSync(`/proc/${before[dies].pid}`) && !fs.readFileSync(`/proc/${before[dies].pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
    }

    // exits after the restart reach Wait and the event stream
    const seen: string[] = [];
    const sub = (async () => {
      for await (const e of c.stream('events', 'Subscribe', { filters: ['topic=="/tasks/exit"'] })) seen.push(String(decodeEvent(e.event)?.containerId));
    })();
    sub.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    for (const rt of RUNTIMES) {
      const id = ids[rt].runs;
      const waiting = c.call('tasks', 'Wait', { containerId: id });
      await t.ctrOk(['tasks', 'kill', '--signal', 'SIGKILL', id]);
      expect((await waiting).exitStatus).toBe(137);
    }
    await waitFor('a TaskExit event for each', () => RUNTIMES.every((rt) => seen.includes(ids[rt].runs)));

    // and the tasks delete as usual
    for (const rt of RUNTIMES) {
      for (const id of [ids[rt].runs, ids[rt].exits]) {
        await t.ctrOk(['tasks', 'rm', id]);
        expect(fs.existsSync(t.bundle(id))).toBe(false);
      }
      for (const id of Object.values(ids[rt])) await t.ctrOk(['containers', 'rm', id]);
    }
    expect(parseTaskList(await t.ctrOk(['tasks', 'ls']))).toEqual({});
  }, 60_000);
});
