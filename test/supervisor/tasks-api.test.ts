/**
 * The tasks service through berth's own gRPC client, as a program would use
 * it: a container whose root filesystem comes as explicit mounts in Create
 * (what a snapshotter's mounts will be), Wait, exec, pids, update, metrics,
 * and every bad input: unknown container, task or exec, duplicates, a
 * runtime error passed through, an unknown runtime, checkpoint refused, no
 * namespace, and a shim that dies (its waiters get the exit, nothing is
 * left). Each task has a shim of its own (BERTH_SHIM_GROUP=container) so
 * that killing one kills no other.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '../../supervisor/src/client/client';
import { SPEC_TYPE_URL, PROCESS_TYPE_URL, defaultSpec, DEFAULT_ENV, type Spec } from '../../supervisor/src/ctl/run-spec';
import { spawn } from 'node:child_process';
import { berthdJs, peerMode } from './support/daemon';
import { describeTasks, listProcesses, mountsUnder, RUNTIMES, startTaskEnv, waitFor, type TaskEnv } from './support/tasks';

let t: TaskEnv;
let c: Client;
beforeAll(async () => {
  t = await startTaskEnv({ env: { BERTH_SHIM_GROUP: 'container' } });
  c = t.daemon.client(t.ns);
  fs.writeFileSync(path.join(t.rootfs, 'marker.txt'), 'from the bind mount\n');
}, 60_000);
afterAll(async () => {
  await t?.cleanup();
});

function spec(id: string, args: string[], root = 'rootfs'): Spec {
  const s = defaultSpec(t.ns, id);
  s.root.path = root;
  s.process.args = args;
  s.process.env = [...DEFAULT_ENV];
  return s;
}

async function container(id: string, runtime: string, args: string[], root?: string): Promise<void> {
  await c.call('containers', 'Create', {
    container: { id, runtime: { name: runtime }, spec: { type_url: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec(id, args, root))) } },
  });
}

const bind = () => [{ type: 'bind', source: t.rootfs, options: ['rbind', 'rw'] }];
const status = async (id: string, execId = '') => (await c.call('tasks', 'Get', { containerId: id, execId })).process;

/** Kills, waits for and deletes a task and its container, whatever state they are in. */
async function remove(id: string): Promise<void> {
  try {
    const p = await status(id);
    if (p.status !== 'STOPPED' && p.status !== 'CREATED') {
      const w = c.call('tasks', 'Wait', { containerId: id });
      await c.call('tasks', 'Kill', { containerId: id, signal: 9, all: true });
      await w;
    }
    await c.call('tasks', 'Delete', { containerId: id });
  } catch {
    // no task
  }
  await c.call('containers', 'Delete', { id }).catch(() => undefined);
}

/** The pids of the shim serving task `id`. */
function shimOf(id: string): number[] {
  const address = fs.readFileSync(path.join(t.bundle(id), 'address'), 'utf8').replace(/^unix:\/\//, '');
  return listProcesses()
    .filter((p) => (p.cmdline.includes('shim-reaper') && p.cmdline.includes(address)) || (p.cmdline.includes('containerd-shim-runc-v2') && p.cmdline.includes(`-address ${t.daemon.address} `) && p.cmdline.includes(`-id ${id} `)))
    .map((p) => p.pid);
}

describeTasks('the tasks service over gRPC', () => {
  describe.each(RUNTIMES)('%s', (runtime) => {
    const short = runtime.split('.')[2];

    test('Create with the rootfs as explicit mounts, Start, Wait, Delete', async () => {
      const id = `${short}-mounts`;
      const out = path.join(t.dir, `${id}.log`);
      await container(id, runtime, ['/bin/sh', '-c', 'cat /marker.txt; read line; echo "got $line"; exit 3']);
      const created = await c.call('tasks', 'Create', { containerId: id, rootfs: bind(), stdout: `file://${out}`, stderr: `file://${out}` }); // as cio.LogFile
      expect(created).toMatchObject({ containerId: id, pid: expect.any(Number) });
      expect(created.pid).toBeGreaterThan(0);
      expect(await status(id)).toMatchObject({ id, pid: created.pid, status: 'CREATED' });
      // the shim mounted the rootfs on the bundle
      expect(mountsUnder(path.join(t.bundle(id), 'rootfs')).length).toBeGreaterThan(0);
      expect(JSON.parse(fs.readFileSync(path.join(t.bundle(id), 'config.json'), 'utf8')).process.args[0]).toBe('/bin/sh');
      const waiting = c.call('tasks', 'Wait', { containerId: id });
      expect((await c.call('tasks', 'Start', { containerId: id })).pid).toBe(created.pid);
      const exit = await waiting;
      expect(exit.exitStatus).toBe(3);
      expect(exit.exitedAt.seconds).toBeGreaterThan(0);
      await waitFor('the output', () => fs.readFileSync(out, 'utf8').includes('got'));
      expect(fs.readFileSync(out, 'utf8')).toBe('from the bind mount\ngot \n');
      expect(await status(id)).toMatchObject({ status: 'STOPPED', exitStatus: 3 });
      const del = await c.call('tasks', 'Delete', { containerId: id });
      expect(del).toMatchObject({ pid: created.pid, exitStatus: 3 });
      expect(fs.existsSync(t.bundle(id))).toBe(false);
      expect(mountsUnder(t.bundle(id))).toEqual([]);
      await expect(status(id)).rejects.toMatchObject({ kind: 'NotFound' });
      await c.call('containers', 'Delete', { id });
    });

    test('exec: Wait, ListPids with the exec id, Kill, DeleteProcess; Update and Metrics', async () => {
      const id = `${short}-exec`;
      await container(id, runtime, ['/bin/sleep', '1000']);
      try {
        await c.call('tasks', 'Create', { containerId: id, rootfs: bind() });
        await c.call('tasks', 'Start', { containerId: id });
        const proc = { ...spec(id, ['/bin/sh', '-c', 'exit 6']).process };
        const any = (p: object) => ({ type_url: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(p)) });
        await c.call('tasks', 'Exec', { containerId: id, execId: 'quick', spec: any(proc) });
        const w = c.call('tasks', 'Wait', { containerId: id, execId: 'quick' });
        await c.call('tasks', 'Start', { containerId: id, execId: 'quick' });
        expect((await w).exitStatus).toBe(6);
        expect(await status(id, 'quick')).toMatchObject({ id: 'quick', status: 'STOPPED', exitStatus: 6 });
        expect(await c.call('tasks', 'DeleteProcess', { containerId: id, execId: 'quick' })).toMatchObject({ id: 'quick', exitStatus: 6 });

        await c.call('tasks', 'Exec', { containerId: id, execId: 'long', spec: any({ ...proc, args: ['/bin/sleep', '100'] }) });
        const started = await c.call('tasks', 'Start', { containerId: id, execId: 'long' });
        const { processes } = await c.call('tasks', 'ListPids', { containerId: id });
        const mine = processes.find((p: { pid: number }) => p.pid === started.pid);
        expect(mine.info.type_url).toMatch(/containerd\.runc\.v1\.ProcessDetails$/);
        expect(Buffer.from(mine.info.value).toString()).toContain('long');
        const wl = c.call('tasks', 'Wait', { containerId: id, execId: 'long' });
        await c.call('tasks', 'Kill', { containerId: id, execId: 'long', signal: 9 });
        expect((await wl).exitStatus).toBe(137);

        await c.call('tasks', 'Update', {
          containerId: id,
          resources: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources', value: Buffer.from(JSON.stringify({ pids: { limit: 42 } })) },
        });
        const cg = ['/sys/fs/cgroup/pids', '/sys/fs/cgroup'].map((r) => path.join(r, t.ns, id, 'pids.max')).find((f) => fs.existsSync(f));
        expect(cg && fs.readFileSync(cg, 'utf8').trim()).toBe('42');
        const { metrics } = await c.call('tasks', 'Metrics', { filters: [`id==${id}`] });
        expect(metrics).toHaveLength(1);
        expect(metrics[0]).toMatchObject({ id, data: { type_url: expect.stringMatching(/io\.containerd\.cgroups\.v[12]\.Metrics$/) } });
      } finally {
        await remove(id);
      }
    });

    test('bad input: unknown task and exec ids, duplicates, checkpoint', async () => {
      const id = `${short}-bad`;
      await expect(c.call('tasks', 'Create', { containerId: 'no-such-container' })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringMatching(/container "no-such-container"/) });
      await container(id, runtime, ['/bin/sleep', '1000']);
      try {
        for (const m of ['Get', 'Start', 'Kill', 'Wait', 'Delete', 'ListPids', 'Pause']) {
          await expect(c.call('tasks', m, { containerId: id })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringMatching(/task .* not found/) });
        }
        await c.call('tasks', 'Create', { containerId: id, rootfs: bind() });
        await expect(c.call('tasks', 'Create', { containerId: id, rootfs: bind() })).rejects.toMatchObject({ kind: 'AlreadyExists' });
        await c.call('tasks', 'Start', { containerId: id });
        await expect(c.call('tasks', 'Exec', { containerId: id, execId: '', spec: null })).rejects.toMatchObject({ kind: 'InvalidArgument' });
        await expect(c.call('tasks', 'Exec', { containerId: id, execId: 'bad/id', spec: null })).rejects.toMatchObject({ kind: 'InvalidArgument' });
        for (const m of ['Start', 'Kill', 'Get', 'Wait', 'DeleteProcess', 'ResizePty', 'CloseIO']) {
          // (containerd's runc shim answers CloseIO's NotFound without its code: passed through as it is)
          const want = m === 'CloseIO' && short === 'runc' ? {} : { kind: 'NotFound' };
          await expect(c.call('tasks', m, { containerId: id, execId: 'nope', stdin: true })).rejects.toMatchObject({ ...want, message: expect.stringMatching(/nope: not found/) });
        }
        const any = { type_url: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(spec(id, ['/bin/sleep', '5']).process)) };
        await c.call('tasks', 'Exec', { containerId: id, execId: 'dup', spec: any });
        await expect(c.call('tasks', 'Exec', { containerId: id, execId: 'dup', spec: any })).rejects.toMatchObject({ kind: 'AlreadyExists' });
        // berthd refuses checkpoints clearly (containerd tries criu)
        await expect(c.call('tasks', 'Checkpoint', { containerId: id })).rejects.toMatchObject(peerMode ? {} : { kind: 'NotImplemented' });
        // a running task is not deleted, and stays
        await expect(c.call('tasks', 'Delete', { containerId: id })).rejects.toThrow();
        expect((await status(id)).status).toBe('RUNNING');
      } finally {
        await remove(id);
      }
    });

    test('a runtime error reaches the client with its words, and nothing is left', async () => {
      const id = `${short}-oci-error`;
      await container(id, runtime, ['/no/such/binary']);
      try {
        const err = await c.call('tasks', 'Create', { containerId: id, rootfs: bind() }).catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^failed to create shim task: OCI runtime create failed: .*\/no\/such\/binary/);
        expect(fs.existsSync(t.bundle(id))).toBe(false);
        expect(mountsUnder(t.bundle(id))).toEqual([]);
        await expect(status(id)).rejects.toMatchObject({ kind: 'NotFound' });
        // the shim that served the failed create is gone (berth's and runc's both carry -id and -address)
        await waitFor('the shim to exit', () => !listProcesses().some((p) => p.cmdline.includes(`-id ${id} `) && p.cmdline.includes(`-address ${t.daemon.address} `)));
        // the same container runs once its spec is right
        const { container: ctr } = await c.call('containers', 'Get', { id });
        ctr.spec.value = Buffer.from(JSON.stringify(spec(id, ['/bin/true'])));
        await c.call('containers', 'Update', { container: ctr, updateMask: { paths: ['spec'] } });
        await c.call('tasks', 'Create', { containerId: id, rootfs: bind() });
      } finally {
        await remove(id);
      }
    });

    test('a shim that dies: waiters get the exit, the task and its bundle go, TaskExit is published', async () => {
      const id = `${short}-dies`;
      await container(id, runtime, ['/bin/sleep', '1000']);
      const seen: string[] = [];
      const events = (async () => {
        for await (const e of c.stream('events', 'Subscribe', { filters: [`namespace==${t.ns}`] })) {
          seen.push(e.topic);
          if (e.topic === '/tasks/delete') return;
        }
      })();
      events.catch(() => undefined);
      try {
        await c.call('tasks', 'Create', { containerId: id, rootfs: bind() });
        const { pid } = await c.call('tasks', 'Start', { containerId: id });
        const waiting = c.call('tasks', 'Wait', { containerId: id });
        const shim = shimOf(id);
        expect(shim.length).toBeGreaterThan(0);
        for (const p of shim) process.kill(p, 'SIGKILL');
        if (peerMode) {
          // containerd fails the Wait ("ttrpc: closed"); berthd gives its waiters the exit the shim's cleanup reports
          await expect(waiting).rejects.toThrow(/ttrpc: closed/);
          await waitFor('containerd to clean up', () => status(id).then(() => false, () => true));
        } else {
          expect((await waiting).exitStatus).toBe(137);
        }
        await waitFor('the container process to go', () => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '));
        await expect(status(id)).rejects.toMatchObject({ kind: 'NotFound' });
        await waitFor('the bundle to go', () => !fs.existsSync(t.bundle(id))); // (containerd answers NotFound before its cleanup ends)
        expect(mountsUnder(t.bundle(id))).toEqual([]);
        await waitFor('TaskExit and TaskDelete', () => seen.includes('/tasks/exit') && seen.includes('/tasks/delete'));
        // the container can run again
        await c.call('tasks', 'Create', { containerId: id, rootfs: bind() });
      } finally {
        await remove(id);
      }
    });
  });

  test('an unknown runtime is refused clearly and leaves no bundle', async () => {
    await container('bad-runtime', 'io.containerd.nosuch.v1', ['/bin/true']);
    await expect(c.call('tasks', 'Create', { containerId: 'bad-runtime' })).rejects.toMatchObject({
      message: expect.stringMatching(/^failed to start shim: .*not installed "containerd-shim-nosuch-v1"/),
    });
    expect(fs.existsSync(t.bundle('bad-runtime'))).toBe(false);
    await c.call('containers', 'Delete', { id: 'bad-runtime' });
  });

  (peerMode ? test.skip : test)('berthd publish, the shims\' -publish-binary, puts an event on the exchange', async () => {
    const seen: { topic: string; namespace: string; type: string }[] = [];
    const sub = (async () => {
      for await (const e of c.stream('events', 'Subscribe', { filters: ['topic=="/tasks/oom"'] })) {
        seen.push({ topic: e.topic, namespace: e.namespace, type: e.event.type_url });
        return;
      }
    })();
    sub.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    const any = Buffer.concat([Buffer.from([0x0a, 25]), Buffer.from('containerd.events.TaskOOM'), Buffer.from([0x12, 0])]);
    const r = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, [berthdJs, '--address', t.daemon.address, 'publish', '--topic', '/tasks/oom', '--namespace', t.ns], { env: t.env, stdio: ['pipe', 'ignore', 'inherit'] });
      p.stdin.end(any);
      p.once('exit', resolve);
    });
    expect(r).toBe(0);
    await waitFor('the event', () => seen.length > 0);
    expect(seen[0]).toEqual({ topic: '/tasks/oom', namespace: t.ns, type: 'containerd.events.TaskOOM' });
  });

  test('a call without a namespace is refused', async () => {
    const bare = new Client(t.daemon.address, '');
    try {
      await expect(bare.call('tasks', 'List', {})).rejects.toMatchObject({ kind: 'FailedPrecondition' });
    } finally {
      bare.close();
    }
  });
});
