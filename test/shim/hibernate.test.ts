/**
 * Hibernation (shim/src/hibernate.ts, the reaper's stash): an idle server
 * hands its connections and stdio to the native reaper and exits; the
 * reaper wakes a new one for a request, for stdin or output to copy, and for
 * an exit it reaped meanwhile — and the client sees one shim throughout.
 * Driven over ttrpc with FIFOs the test owns, with a 300 ms idle time.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { listProcesses } from './helpers/containerd';
import { DirectShim } from './helpers/direct';
import { describeE2E, eventually, exited } from './helpers/setup';

/** The Node server under the reaper, if one runs. */
function serverOf(reaper: number): number | undefined {
  return listProcesses().find((p) => p.ppid === reaper && p.cmdline.includes('containerd-shim-berth-v2'))?.pid;
}

describeE2E('shim: hibernation', () => {
  let s: DirectShim;
  let reaper: number;

  beforeAll(async () => {
    s = await DirectShim.create();
    s.envOverrides = { BERTH_SHIM_IDLE_EXIT: '300', BERTH_TRACE: 'shim.hibernate' };
    const bundle = s.bundle('h-main', ['sleep', '100000']);
    await s.start('h-main', bundle);
    await s.task.Create({ id: 'h-main', bundle, rootfs: [s.rootfsMount()] });
    await s.task.Start({ id: 'h-main' });
    reaper = await s.shimPid();
  }, 60_000);

  afterAll(async () => {
    await s?.cleanup();
  }, 60_000);

  const asleep = (what: string): Promise<void> => eventually(() => serverOf(reaper) === undefined, 10_000, `the server to hibernate (${what})`);

  it('sleeps when idle and wakes for a request, with its state intact', async () => {
    await asleep('after start');
    const st = await s.task.State({ id: 'h-main' }, { timeoutMs: 10_000 });
    expect(st.status).toBe(2); // RUNNING, from the recorded state
    expect(st.pid).toBeGreaterThan(0);
    expect(serverOf(reaper)).toBeDefined(); // woken
    expect((await s.task.Pids({ id: 'h-main' })).processes.map((p: { pid: number }) => p.pid)).toContain(st.pid);
    await asleep('after State');
    expect(s.log()).toMatch(/msg="hibernating"/);
    expect(s.log()).toMatch(/msg="resumed" .*connections=1/);
  });

  it('copies stdin and output across hibernation, and reports an exit reaped while asleep', async () => {
    const fifos = { in: path.join(s.dir, 'h-io.in'), out: path.join(s.dir, 'h-io.out') };
    for (const f of Object.values(fifos)) execFileSync('mkfifo', [f]);
    const bundle = s.bundle('h-io', ['sh', '-c', 'read a; echo "got $a"; read b; echo "then $b"; sleep 2; exit 7']);
    await s.task.Create({ id: 'h-io', bundle, rootfs: [s.rootfsMount()], stdin: fifos.in, stdout: fifos.out, stderr: '' });
    const out = new net.Socket({ fd: fs.openSync(fifos.out, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
    let text = '';
    out.on('data', (d: Buffer) => { text += d.toString(); });
    const stdin = fs.openSync(fifos.in, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); // the shim reads it already
    try {
      const { pid } = await s.task.Start({ id: 'h-io' });
      await asleep('with stdio held');
      fs.writeSync(stdin, 'one\n'); // readable stdin wakes the server, which copies it in
      await eventually(() => text.includes('got one\n'), 10_000, 'the first answer');
      await asleep('after the first line');
      fs.writeSync(stdin, 'two\n');
      await eventually(() => text.includes('then two\n'), 10_000, 'the second answer');
      await asleep('before the exit');
      // the process exits 2 s later, with no server running: the reaper keeps the exit and wakes one
      await eventually(() => s.sink.topics('h-io').includes('/tasks/exit'), 15_000, 'TaskExit');
      const exit = s.sink.events.find((e) => e.topic === '/tasks/exit' && e.event.containerId === 'h-io')!;
      expect(exit.event).toMatchObject({ containerId: 'h-io', id: 'h-io', pid, exitStatus: 7 });
      expect(s.sink.topics('h-io')).toEqual(['/tasks/create', '/tasks/start', '/tasks/exit']);
      const d = await s.task.Delete({ id: 'h-io' }, { timeoutMs: 10_000 });
      expect(d.exitStatus).toBe(7);
      expect(text).toBe('got one\nthen two\n');
    } finally {
      fs.closeSync(stdin);
      out.destroy();
    }
  });

  it('keeps a paused task paused across a sleep, resumes it, and reads its metrics after one', async () => {
    await s.task.Pause({ id: 'h-main' });
    await asleep('paused');
    expect((await s.task.State({ id: 'h-main' })).status).toBe(4); // PAUSED
    await asleep('after State');
    await s.task.Resume({ id: 'h-main' });
    await asleep('resumed');
    expect((await s.task.State({ id: 'h-main' })).status).toBe(2); // RUNNING
    await asleep('before Stats');
    const stats = await s.task.Stats({ id: 'h-main' });
    expect(stats.stats.type_url).toMatch(/^io\.containerd\.cgroups\.v[12]\.Metrics$/);
    expect(stats.stats.value.length).toBeGreaterThan(0);
  });

  it('stays awake while a request is in flight', async () => {
    const bundle = s.bundle('h-wait', ['sleep', '2']);
    await s.task.Create({ id: 'h-wait', bundle, rootfs: [s.rootfsMount()] });
    await s.task.Start({ id: 'h-wait' });
    const server = serverOf(reaper);
    expect(server).toBeDefined();
    const wait = s.task.Wait({ id: 'h-wait' }, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1000)); // > 3 idle times
    expect(serverOf(reaper)).toBe(server);
    expect((await wait).exitStatus).toBe(0);
    await s.task.Delete({ id: 'h-wait' });
  });

  it('wakes for the OOM killer and publishes TaskOOM while the task runs on', async () => {
    // A child of the init is killed (the shim reaps nothing): only the
    // reaper's watch on the memory cgroup can wake the server for it. The
    // hog makes itself the OOM killer's first choice, so that a second kill
    // (the kernel may kill again while the first victim exits) never takes
    // the init.
    const go = path.join(s.rootfsSource, 'h-oom-go');
    const bundle = s.bundle('h-oom', ['sh', '-c', 'while [ ! -e /h-oom-go ]; do sleep 0.1; done; sh -c \'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr "\\000" a)\'; sleep 100000'], (spec) => {
      (spec.linux as { resources: Record<string, unknown> }).resources = { memory: { limit: 16 << 20 } };
    });
    await s.task.Create({ id: 'h-oom', bundle, rootfs: [s.rootfsMount()] });
    let ooms = 0;
    try {
      await s.task.Start({ id: 'h-oom' });
      await asleep('before the OOM');
      fs.writeFileSync(go, '');
      await eventually(() => s.sink.topics('h-oom').includes('/tasks/oom'), 15_000, 'TaskOOM');
      await new Promise((r) => setTimeout(r, 300)); // one kill is the rule; let a second one land
      ooms = s.sink.topics('h-oom').filter((t) => t === '/tasks/oom').length;
      expect(s.sink.topics('h-oom')).toEqual(['/tasks/create', '/tasks/start', ...Array(ooms).fill('/tasks/oom')]); // no exit
      expect((await s.task.State({ id: 'h-oom' })).status).toBe(2); // RUNNING
    } finally {
      fs.rmSync(go, { force: true });
      await s.task.Kill({ id: 'h-oom', signal: 9 }).catch(() => undefined);
      await s.task.Wait({ id: 'h-oom' }, { timeoutMs: 10_000 }).catch(() => undefined);
      await s.task.Delete({ id: 'h-oom' }).catch(() => undefined);
    }
    expect(s.sink.topics('h-oom').filter((t) => t === '/tasks/oom')).toHaveLength(ooms); // not again at the exit
  });

  // Last: it ends the shim.
  it('shuts down as an awake shim does on a SIGTERM that comes while it sleeps', async () => {
    await asleep('before SIGTERM');
    const socket = s.address.replace(/^unix:\/\//, '');
    expect(fs.existsSync(socket)).toBe(true);
    process.kill(reaper, 'SIGTERM'); // the reaper runs the server, which gets the signal once it can handle it
    // its shutdown waits up to 5 s for undelivered events: room for a loaded machine
    await eventually(() => exited(reaper), 20_000, 'the shim to exit');
    expect(s.log()).toMatch(/msg="shim shutting down" .*reason=SIGTERM/);
    expect(fs.existsSync(socket)).toBe(false); // its shutdown ran: socket (and directory) removed
  });
});
