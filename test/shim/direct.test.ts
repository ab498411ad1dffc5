/**
 * The shim driven directly over ttrpc, as the supervisor will drive it: bad
 * input gets the right status and leaves nothing behind, a FIFO nobody reads
 * does not hang the shim, events reach a fake containerd in order and
 * survive its absence, and the shim exits only after Shutdown with no task.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { GrpcCode, isNotFound } from '../../proto/src/errdefs';
import { mountsUnder, openedBy } from './helpers/containerd';
import { DirectShim } from './helpers/direct';
import { describeE2E, eventually, exited, expectNoZombiesOf } from './helpers/setup';
import { shimRoot } from '../../shim/src/protos';

const SPEC_PROCESS = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const SPEC_RESOURCES = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';

function jsonAny(typeUrl: string, v: unknown): object {
  return { type_url: typeUrl, value: Buffer.from(JSON.stringify(v)) };
}

async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return GrpcCode.OK;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

describeE2E('shim: driven over ttrpc', () => {
  let s: DirectShim;

  beforeAll(async () => {
    s = await DirectShim.create();
    await s.start('d-main', s.bundle('d-main', ['sleep', '100000']));
  }, 60_000);

  afterAll(async () => {
    await s?.cleanup();
  }, 60_000);

  it('refuses a create whose rootfs mount fails and leaves nothing mounted', async () => {
    const bundle = s.bundle('d-badmount', ['true']);
    const err = await s.task.Create({
      id: 'd-badmount', bundle,
      rootfs: [s.rootfsMount(), { type: 'bind', source: path.join(s.dir, 'no-such-dir'), options: ['rbind'] }],
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/failed to mount rootfs component: mount bind .*no-such-dir.*ENOENT/);
    expect(mountsUnder(bundle)).toEqual([]);
    expect(isNotFound(await s.task.State({ id: 'd-badmount' }).catch((e: Error) => e))).toBe(true);
  });

  it('maps runtime errors to a status with the runtime\'s message', async () => {
    const bundle = s.bundle('d-rterr', ['/no/such/init']);
    const err = await s.task.Create({ id: 'd-rterr', bundle, rootfs: [s.rootfsMount()] }).catch((e: Error) => e) as Error & { code: number };
    if (!(err instanceof Error)) {
      // runc reports a missing init at start, not create
      const st = await s.task.Start({ id: 'd-rterr' }).catch((e: Error) => e) as Error & { code: number };
      expect(st.message).toMatch(/OCI runtime start failed: .*no such file or directory/);
      await s.task.Delete({ id: 'd-rterr' });
    } else {
      expect(err.message).toMatch(/OCI runtime create failed: .*no such file or directory/);
    }
    expect(mountsUnder(bundle)).toEqual([]);
    await s.task.Connect({ id: '' }); // still serving
  });

  it('does not hang on a stdout FIFO that nobody reads', async () => {
    const fifo = path.join(s.dir, 'unread.fifo');
    execFileSync('mkfifo', [fifo]);
    const bundle = s.bundle('d-fifo', ['sh', '-c', 'head -c 2000000 /dev/zero; echo written; sleep 100000']);
    await s.task.Create({ id: 'd-fifo', bundle, rootfs: [s.rootfsMount()], stdout: fifo, stderr: fifo });
    const { pid } = await s.task.Start({ id: 'd-fifo' });
    expect(pid).toBeGreaterThan(0);
    // the container blocks on its full pipe; the shim keeps answering
    const st = await s.task.State({ id: 'd-fifo' }, { timeoutMs: 5000 });
    expect(st.status).toBe(2); // RUNNING
    expect((await s.task.Pids({ id: 'd-fifo' }, { timeoutMs: 5000 })).processes.length).toBeGreaterThanOrEqual(1);
    const cgroups = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean)
      .map((l) => l.split(':')).filter(([, ctrl, p]) => p !== '/' && (ctrl === '' || /^(memory|pids|cpu|devices)$/.test(ctrl)))
      .map(([, ctrl, p]) => (ctrl === '' ? `/sys/fs/cgroup${p}` : `/sys/fs/cgroup/${ctrl}${p}`));
    expect(cgroups.length).toBeGreaterThan(0);
    await s.task.Kill({ id: 'd-fifo', signal: 9 });
    const w = await s.task.Wait({ id: 'd-fifo' }, { timeoutMs: 10_000 });
    expect(w.exitStatus).toBe(137);
    const d = await s.task.Delete({ id: 'd-fifo' }, { timeoutMs: 10_000 });
    expect(d).toMatchObject({ pid, exitStatus: 137 });
    expect(mountsUnder(bundle)).toEqual([]);
    for (const dir of cgroups) expect(fs.existsSync(dir)).toBe(false); // the runtime removed them
  });

  it('lets Wait return only once the output is copied out, its FIFO closed', async () => {
    // ctr 1.6 closes its FIFOs when it deletes the task, before reading them
    // to the end: what the shim has not copied out by the time Wait returns
    // is lost. A slow reader leaves ~130 KB in the pipe and the shim when the
    // process exits; once Wait returns, the FIFO must hold the rest and no
    // writer any more (a read gives data, then EOF — never EAGAIN).
    const fifo = path.join(s.dir, 'slow.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const total = 1_000_000;
      const bundle = s.bundle('d-slow', ['head', '-c', String(total), '/dev/zero']);
      await s.task.Create({ id: 'd-slow', bundle, rootfs: [s.rootfsMount()], stdout: fifo });
      let waited = false;
      const wait = s.task.Wait({ id: 'd-slow' }, { timeoutMs: 20_000 }).finally(() => { waited = true; });
      await s.task.Start({ id: 'd-slow' });
      const buf = Buffer.alloc(8192);
      let got = 0;
      const read = (): number | 'again' => {
        try {
          return fs.readSync(reader, buf, 0, buf.length, null);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 'again';
          throw err;
        }
      };
      while (!waited) { // 8 KB per 5 ms: the process exits long before this reader is through
        const n = read();
        if (typeof n === 'number') got += n;
        await new Promise((r) => setTimeout(r, 5));
      }
      expect((await wait).exitStatus).toBe(0);
      expect(openedBy(fifo)).toEqual([]); // the shim was through (it still held the FIFO to copy the rest)
      for (;;) {
        const n = read();
        expect(n).not.toBe('again');
        if (n === 0) break;
        got += n as number;
      }
      expect(got).toBe(total);
      await s.task.Delete({ id: 'd-slow' }, { timeoutMs: 10_000 });
    } finally {
      fs.closeSync(reader);
    }
  });

  it('holds back an exit whose output nobody reads, but not the other containers\' exits', async () => {
    // A's 140 KB fit in its pipe and the shim but not in the FIFO nobody
    // reads: A exits, its copy cannot finish. B, killed after A's exit was
    // recorded, is reported first; A once the 2 s are up.
    const fifo = path.join(s.dir, 'unread-a.fifo');
    execFileSync('mkfifo', [fifo]);
    await s.task.Create({ id: 'd-a', bundle: s.bundle('d-a', ['head', '-c', '140000', '/dev/zero']), rootfs: [s.rootfsMount()], stdout: fifo });
    await s.task.Create({ id: 'd-b', bundle: s.bundle('d-b', ['sleep', '100000']), rootfs: [s.rootfsMount()] });
    await s.task.Start({ id: 'd-b' });
    const waitA = s.task.Wait({ id: 'd-a' }, { timeoutMs: 20_000 });
    await s.task.Start({ id: 'd-a' });
    await eventually(async () => (await s.task.State({ id: 'd-a' })).status === 3, 10_000, 'd-a stopped'); // recorded at once
    await s.task.Kill({ id: 'd-b', signal: 9 });
    expect((await s.task.Wait({ id: 'd-b' }, { timeoutMs: 10_000 })).exitStatus).toBe(137);
    expect((await waitA).exitStatus).toBe(0);
    await eventually(() => s.sink.topics('d-a').includes('/tasks/exit'), 5000, 'd-a\'s TaskExit');
    const exits = s.sink.events.filter((e) => e.topic === '/tasks/exit' && ['d-a', 'd-b'].includes(e.event.containerId as string));
    expect(exits.map((e) => e.event.containerId)).toEqual(['d-b', 'd-a']);
    for (const id of ['d-a', 'd-b']) await s.task.Delete({ id }, { timeoutMs: 10_000 });
  });

  describe('with a running container', () => {
    const id = 'd-run';
    let pid = 0;

    beforeAll(async () => {
      const bundle = s.bundle(id, ['sleep', '100000']);
      pid = (await s.task.Create({ id, bundle, rootfs: [s.rootfsMount()] })).pid;
      await s.task.Start({ id });
    });

    it('refuses to create it twice or start it twice', async () => {
      expect(await code(s.task.Create({ id, bundle: path.join(s.dir, `bundle-${id}`), rootfs: [s.rootfsMount()] }))).toBe(GrpcCode.ALREADY_EXISTS);
      expect(await code(s.task.Start({ id }))).toBe(GrpcCode.FAILED_PRECONDITION);
      expect(await code(s.task.Delete({ id }))).toBe(GrpcCode.FAILED_PRECONDITION); // running
    });

    it('answers NotFound for unknown containers and exec ids', async () => {
      expect(await code(s.task.State({ id: 'nope' }))).toBe(GrpcCode.NOT_FOUND);
      expect(await code(s.task.State({ id, execId: 'nope' }))).toBe(GrpcCode.NOT_FOUND);
      expect(await code(s.task.Kill({ id, execId: 'nope', signal: 9 }))).toBe(GrpcCode.NOT_FOUND);
      expect(await code(s.task.Delete({ id, execId: 'nope' }))).toBe(GrpcCode.NOT_FOUND);
      expect(await code(s.task.Start({ id, execId: 'nope' }))).toBe(GrpcCode.NOT_FOUND);
    });

    it('refuses a duplicate exec id with AlreadyExists', async () => {
      const spec = jsonAny(SPEC_PROCESS, { args: ['sleep', '5'], cwd: '/', env: ['PATH=/bin'] });
      await s.task.Exec({ id, execId: 'dup', spec });
      expect(await code(s.task.Exec({ id, execId: 'dup', spec }))).toBe(GrpcCode.ALREADY_EXISTS);
      await s.task.Delete({ id, execId: 'dup' }); // never started
      expect(await code(s.task.State({ id, execId: 'dup' }))).toBe(GrpcCode.NOT_FOUND);
    });

    it('reports an exec of a missing binary with the runtime\'s message', async () => {
      await s.task.Exec({ id, execId: 'missing', spec: jsonAny(SPEC_PROCESS, { args: ['/no/such/bin'], cwd: '/' }) });
      const err = await s.task.Start({ id, execId: 'missing' }).catch((e: Error) => e) as Error;
      expect(err.message).toMatch(/OCI runtime exec failed: .*no such file or directory/);
      const w = await s.task.Wait({ id, execId: 'missing' }, { timeoutMs: 5000 }); // does not hang
      expect(w.exitStatus).toBe(0);
      await s.task.Delete({ id, execId: 'missing' });
    });

    it('updates the resources of the container', async () => {
      await s.task.Update({ id, resources: jsonAny(SPEC_RESOURCES, { pids: { limit: 77 } }) });
      const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:pids:/.test(l) || l.startsWith('0::'));
      const cg = line!.split(':')[2];
      const file = line!.startsWith('0::') ? `/sys/fs/cgroup${cg}/pids.max` : `/sys/fs/cgroup/pids${cg}/pids.max`;
      expect(fs.readFileSync(file, 'utf8').trim()).toBe('77');
      expect(await code(s.task.Update({ id, resources: { type_url: SPEC_RESOURCES, value: Buffer.from('{not json') } }))).toBe(GrpcCode.INVALID_ARGUMENT);
    });

    it('refuses checkpoints with NotImplemented', async () => {
      expect(await code(s.task.Checkpoint({ id, path: path.join(s.dir, 'ckpt') }))).toBe(GrpcCode.UNIMPLEMENTED);
    });

    it('reports stats as cgroup metrics', async () => {
      const r = await s.task.Stats({ id });
      expect(['io.containerd.cgroups.v1.Metrics', 'io.containerd.cgroups.v2.Metrics']).toContain(r.stats.type_url);
      expect(r.stats.value.length).toBeGreaterThan(10);
    });

    it('runs execs whose exits race their start, each with its own status', async () => {
      const n = 12;
      await Promise.all(Array.from({ length: n }, (_, i) =>
        s.task.Exec({ id, execId: `race-${i}`, spec: jsonAny(SPEC_PROCESS, { args: ['sh', '-c', `exit ${i}`], cwd: '/', env: ['PATH=/bin'] }) })));
      await Promise.all(Array.from({ length: n }, (_, i) => s.task.Start({ id, execId: `race-${i}` })));
      const waits = await Promise.all(Array.from({ length: n }, (_, i) => s.task.Wait({ id, execId: `race-${i}` }, { timeoutMs: 10_000 })));
      expect(waits.map((w) => w.exitStatus)).toEqual(Array.from({ length: n }, (_, i) => i));
      for (let i = 0; i < n; i++) await s.task.Delete({ id, execId: `race-${i}` });
      await expectNoZombiesOf([await s.shimPid()]);
    });

    it('keeps serving after a Shutdown while a task is alive', async () => {
      await s.task.Shutdown({ id });
      await new Promise((r) => setTimeout(r, 300));
      expect((await s.task.Connect({ id })).taskPid).toBe(pid);
    });

    it('forwards the task events in order, and keeps them while containerd is away', async () => {
      await eventually(() => s.sink.topics(id).includes('/tasks/start'), 5000, 'start event');
      s.sink.stop(); // containerd goes away
      await s.task.Kill({ id, signal: 9 });
      await s.task.Wait({ id }, { timeoutMs: 10_000 });
      const queue = fs.readdirSync(path.join(s.dir, 'shim')).map((h) => path.join(s.dir, 'shim', h, 'events'));
      await eventually(() => queue.some((q) => fs.existsSync(q) && fs.readdirSync(q).some((f) => f.endsWith('.event'))), 10_000, 'the queue on disk');
      await s.task.Delete({ id });
      // the init's exit and the delete wait in the queue
      expect(s.sink.events.filter((e) => e.event.containerId === id && e.event.id === id)).toEqual([]);
      expect(s.sink.topics(id)).not.toContain('/tasks/delete');
      await s.sink.start(); // back
      await eventually(() => s.sink.topics(id).includes('/tasks/delete'), 15_000, 'the events after the restart');
      const evs = s.sink.events.filter((e) => e.event.containerId === id);
      const topics = evs.map((e) => e.topic);
      expect(topics.slice(0, 2)).toEqual(['/tasks/create', '/tasks/start']);
      expect(topics.slice(-2)).toEqual(['/tasks/exit', '/tasks/delete']);
      expect(topics.filter((t) => t === '/tasks/exec-added')).toHaveLength(14); // dup, missing, 12 races
      expect(topics.filter((t) => t === '/tasks/exec-started')).toHaveLength(12);
      expect(topics.filter((t) => t === '/tasks/exit')).toHaveLength(13);
      for (let i = 0; i < 12; i++) {
        const at = (topic: string): number => evs.findIndex((e) => e.topic === topic && (e.event.execId ?? e.event.id) === `race-${i}`);
        expect(at('/tasks/exec-added')).toBeLessThan(at('/tasks/exec-started'));
        expect(at('/tasks/exec-started')).toBeLessThan(at('/tasks/exit'));
        expect(evs[at('/tasks/exit')].event.exitStatus ?? 0).toBe(i);
      }
      const exit = s.sink.events.filter((e) => e.topic === '/tasks/exit' && e.event.id === id);
      expect(exit).toHaveLength(1);
      expect(exit[0]).toMatchObject({ namespace: 'testns', type: 'containerd.events.TaskExit', event: { containerId: id, pid, exitStatus: 137 } });
      for (const q of queue) expect(fs.existsSync(q) ? fs.readdirSync(q) : []).toEqual([]);
    }, 40_000);
  });

  it('exits after Shutdown once no task is left, removing its socket', async () => {
    const reaper = await s.shimPid();
    const sock = s.address.replace('unix://', '');
    for (const id of ['d-badmount', 'd-rterr', 'd-fifo', 'd-run']) {
      expect(await code(s.task.State({ id }))).toBe(GrpcCode.NOT_FOUND);
    }
    await expectNoZombiesOf([reaper]);
    await s.task.Shutdown({ id: 'd-main' }).catch(() => undefined);
    await eventually(() => exited(reaper), 10_000, 'the shim to exit');
    expect(fs.existsSync(sock)).toBe(false);
  });
});

describeE2E('shim: events through the publish binary', () => {
  let s: DirectShim;

  beforeAll(async () => {
    s = await DirectShim.create();
    s.envOverrides = { TTRPC_ADDRESS: '' };
    // stands in for `containerd publish`: records its arguments and the Any on stdin
    s.publishBinary = path.join(s.dir, 'publish.sh');
    fs.writeFileSync(s.publishBinary, `#!/bin/sh\nn=$(ls ${s.dir}/published/*.args 2>/dev/null | wc -l)\nmkdir -p ${s.dir}/published\necho "$@" > ${s.dir}/published/$n.args\ncat > ${s.dir}/published/$n.any\n`, { mode: 0o755 });
    await s.start('p-main', s.bundle('p-main', ['true']));
  }, 60_000);

  afterAll(async () => {
    await s?.cleanup();
  }, 60_000);

  it('runs `containerd publish` for each event, in order', async () => {
    const bundle = s.bundle('p-run', ['sh', '-c', 'exit 3']);
    await s.task.Create({ id: 'p-run', bundle, rootfs: [s.rootfsMount()] });
    await s.task.Start({ id: 'p-run' });
    await s.task.Wait({ id: 'p-run' }, { timeoutMs: 10_000 });
    await s.task.Delete({ id: 'p-run' });
    const dir = path.join(s.dir, 'published');
    await eventually(() => fs.existsSync(dir) && fs.readdirSync(dir).filter((f) => f.endsWith('.any')).length >= 4, 10_000, 'four events');
    const n = fs.readdirSync(dir).filter((f) => f.endsWith('.args')).length;
    const published = Array.from({ length: n }, (_, i) => ({
      args: fs.readFileSync(path.join(dir, `${i}.args`), 'utf8').trim(),
      any: fs.readFileSync(path.join(dir, `${i}.any`)),
    }));
    const address = path.join(s.dir, 'fake-containerd.sock');
    expect(published.map((p) => p.args)).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']
      .map((t) => `--address ${address} publish --topic ${t} --namespace testns`));
    const root = shimRoot();
    const anyT = root.lookupType('google.protobuf.Any');
    const exit = anyT.toObject(anyT.decode(published[2].any)) as { type_url: string; value: Uint8Array };
    expect(exit.type_url).toBe('containerd.events.TaskExit');
    const ev = root.lookupType('containerd.events.TaskExit');
    expect(ev.toObject(ev.decode(exit.value), { longs: Number })).toMatchObject({ containerId: 'p-run', id: 'p-run', exitStatus: 3 });
  });
});
