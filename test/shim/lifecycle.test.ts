/**
 * A berth-shimmed task's life through ctr: kill, pause/resume, ps, metrics,
 * checkpoint refused, and the task events containerd receives, in order.
 */
import { BERTH, describeE2E, eventually, IMAGE_REF, RUNTIME, taskStatus, useContainerd, watchEvents } from './helpers/setup';

describeE2E('shim: task life cycle', () => {
  const env = useContainerd();

  it('kills a task and reports the signal in its exit status', async () => {
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'lc-kill', 'sleep', '100000']);
    await eventually(async () => (await taskStatus(env.c, 'lc-kill')) === 'RUNNING', 10_000, 'running');
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-kill']);
    await eventually(async () => (await taskStatus(env.c, 'lc-kill')) === 'STOPPED', 10_000, 'stopped');
    const del = await env.c.ctr(['tasks', 'delete', 'lc-kill']);
    expect(del.code).toBe(0);
    expect(del.stdout + del.stderr).toMatch(/137/);
    await env.c.ctrOk(['containers', 'delete', 'lc-kill']);
  });

  it('pauses and resumes a task', async () => {
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'lc-pause', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done']);
    await eventually(async () => (await taskStatus(env.c, 'lc-pause')) === 'RUNNING', 10_000, 'running');
    await env.c.ctrOk(['tasks', 'pause', 'lc-pause']);
    expect(await taskStatus(env.c, 'lc-pause')).toBe('PAUSED');
    const a = await env.c.ctrOk(['tasks', 'exec', '--exec-id', 'x', 'lc-pause', 'cat', '/tmp/tick']).catch((e: Error) => e);
    expect(a).toBeInstanceOf(Error); // no exec into a paused container
    await env.c.ctrOk(['tasks', 'resume', 'lc-pause']);
    expect(await taskStatus(env.c, 'lc-pause')).toBe('RUNNING');
    const t1 = await env.c.ctrOk(['tasks', 'exec', '--exec-id', 'y', 'lc-pause', 'cat', '/tmp/tick']);
    await new Promise((r) => setTimeout(r, 300));
    const t2 = await env.c.ctrOk(['tasks', 'exec', '--exec-id', 'z', 'lc-pause', 'cat', '/tmp/tick']);
    expect(t2.trim()).not.toBe(t1.trim()); // it runs again
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-pause']);
  });

  it('lists the processes of a task', async () => {
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'lc-ps', 'sh', '-c', 'sleep 1000 & sleep 1000']);
    // sh execs its last command: two processes
    await eventually(async () => (await env.c.ctrOk(['tasks', 'ps', 'lc-ps'])).trim().split('\n').length >= 3, 10_000, 'two pids');
    const pids = (await env.c.ctrOk(['tasks', 'ps', 'lc-ps'])).trim().split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0]));
    for (const pid of pids) expect(pid).toBeGreaterThan(0);
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-ps']);
  });

  it('reports cgroup metrics', async () => {
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'lc-metrics', 'sh', '-c', 'x=$(head -c 4000000 /dev/zero | tr "\\000" a); sleep 1000']);
    await eventually(async () => (await taskStatus(env.c, 'lc-metrics')) === 'RUNNING', 10_000, 'running');
    const table = await env.c.ctrOk(['tasks', 'metrics', 'lc-metrics']);
    expect(table).toMatch(/lc-metrics/);
    const m = JSON.parse(await env.c.ctrOk(['tasks', 'metrics', '--format', 'json', 'lc-metrics'])) as Record<string, Record<string, unknown>>;
    const pids = m.pids as { current?: number } | undefined;
    expect(pids?.current).toBeGreaterThanOrEqual(1);
    const memory = m.memory as { usage?: { usage?: number } } | undefined;
    if (memory && 'usage' in memory && typeof memory.usage === 'object') expect(memory.usage.usage).toBeGreaterThan(0); // v1
    else expect((memory as unknown as { usage: number }).usage).toBeGreaterThan(0); // v2
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-metrics']);
  });

  it('refuses a checkpoint clearly', async () => {
    if (RUNTIME !== 'io.containerd.berth.v2') return; // runc's shim really checkpoints (with criu)
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'lc-ckpt', 'sleep', '1000']);
    await eventually(async () => (await taskStatus(env.c, 'lc-ckpt')) === 'RUNNING', 10_000, 'running');
    const r = await env.c.ctr(['tasks', 'checkpoint', 'lc-ckpt']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not supported|not implemented/);
    expect(await taskStatus(env.c, 'lc-ckpt')).toBe('RUNNING');
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-ckpt']);
  });

  it('publishes the task events in order', async () => {
    const events = await watchEvents(env.c);
    try {
      await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'lc-ev', 'sleep', '1000']);
      await eventually(async () => (await taskStatus(env.c, 'lc-ev')) === 'RUNNING', 10_000, 'running');
      await env.c.ctrOk(['tasks', 'exec', '--exec-id', 'ev-exec', 'lc-ev', 'sh', '-c', 'exit 4']).catch(() => undefined);
      await env.c.ctrOk(['tasks', 'pause', 'lc-ev']);
      await env.c.ctrOk(['tasks', 'resume', 'lc-ev']);
      await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-ev']);
      await eventually(async () => (await taskStatus(env.c, 'lc-ev')) === 'STOPPED', 10_000, 'stopped');
      await env.c.ctrOk(['tasks', 'delete', 'lc-ev']);
      await eventually(() => events.out().includes('/tasks/delete'), 10_000, 'the delete event');
    } finally {
      events.stop();
    }
    // "DATE TIME ZONE UTC NAMESPACE TOPIC EVENT"
    const topics = events.out().split('\n').filter((l) => l.includes('"lc-ev"'))
      .map((l) => l.split(/\s+/).find((t) => t.startsWith('/'))).filter((t) => t?.startsWith('/tasks/'));
    expect(topics).toEqual([
      '/tasks/create', '/tasks/start',
      '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit',
      '/tasks/paused', '/tasks/resumed',
      '/tasks/exit', '/tasks/delete',
    ]);
    const execExit = events.out().split('\n').find((l) => l.includes('/tasks/exit') && l.includes('ev-exec'));
    expect(execExit).toMatch(/"exit_status":4/);
    const initExit = events.out().split('\n').filter((l) => l.includes('/tasks/exit') && !l.includes('ev-exec'));
    expect(initExit.join('\n')).toMatch(/"exit_status":137/);
  });

  it('publishes TaskOOM when the OOM killer kills a process of the task', async () => {
    const events = await watchEvents(env.c);
    try {
      const r = await env.c.ctr(['run', '--rm', ...BERTH, '--memory-limit', String(16 << 20), IMAGE_REF, 'lc-oom', 'sh', '-c',
        'x=$(head -c 200000000 /dev/zero | tr "\\000" a); echo survived']);
      expect(r.stdout).not.toContain('survived');
      await eventually(() => events.out().includes('/tasks/delete') && events.out().includes('"lc-oom"'), 10_000, 'the events');
    } finally {
      events.stop();
    }
    const topics = events.out().split('\n').filter((l) => l.includes('"lc-oom"'))
      .map((l) => l.split(/\s+/).find((t) => t.startsWith('/'))).filter((t) => t?.startsWith('/tasks/'));
    expect(topics).toContain('/tasks/oom');
    expect(topics.indexOf('/tasks/oom')).toBeLessThan(topics.lastIndexOf('/tasks/exit'));
  });

  it('publishes TaskOOM as the OOM killer strikes, while the task runs on', async () => {
    const events = await watchEvents(env.c);
    const oomLines = (): string[] => events.out().split('\n').filter((l) => l.includes('/tasks/oom') && l.includes('"lc-oom-child"'));
    try {
      // the init's child is killed, the init sleeps on: no exit to notice it by
      // (the child makes itself the OOM killer's first choice)
      await env.c.ctrOk(['run', '-d', ...BERTH, '--memory-limit', String(16 << 20), IMAGE_REF, 'lc-oom-child', 'sh', '-c',
        'sh -c \'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr "\\000" a)\'; sleep 100000']);
      await eventually(() => oomLines().length > 0, 15_000, 'TaskOOM');
      expect(await taskStatus(env.c, 'lc-oom-child')).toBe('RUNNING');
      await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'lc-oom-child']);
      await eventually(async () => (await taskStatus(env.c, 'lc-oom-child')) === 'STOPPED', 10_000, 'stopped');
      await env.c.ctrOk(['tasks', 'delete', 'lc-oom-child']);
      await env.c.ctrOk(['containers', 'delete', 'lc-oom-child']);
    } finally {
      events.stop();
    }
  });
});
