/**
 * `ctr tasks exec` into a berth-shimmed container: output and exit codes,
 * processes that exit at once (the early-exit race), signals, duplicate and
 * unknown exec ids, runtime errors, and `ctr tasks ps`.
 */
import { BERTH, describeE2E, eventually, IMAGE_REF, taskStatus, useContainerd } from './helpers/setup';

describeE2E('shim: ctr tasks exec', () => {
  const env = useContainerd();
  const id = 'exec-box';

  beforeAll(async () => {
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, id, 'sleep', '100000']);
    await eventually(async () => (await taskStatus(env.c, id)) === 'RUNNING', 10_000, 'the container');
  }, 60_000);

  it('runs a process and returns its output and exit code', async () => {
    const r = await env.c.ctr(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo in-exec; echo oops >&2; exit 3']);
    expect(r.stdout).toBe('in-exec\n');
    expect(r.stderr).toContain('oops');
    expect(r.code).toBe(3);
  });

  it('reports exec processes killed by a signal as 128+n', async () => {
    const r = await env.c.ctr(['tasks', 'exec', '--exec-id', 'e-sig', id, 'sh', '-c', 'kill -TERM $$']);
    expect(r.code).toBe(143);
  });

  it('gets every exit status of processes that exit at once', async () => {
    // sequential and concurrent: each exit must reach its own exec, even when
    // the process is reaped before `runc exec` has returned its pid
    for (let i = 0; i < 5; i++) {
      const r = await env.c.ctr(['tasks', 'exec', '--exec-id', `quick-${i}`, id, 'sh', '-c', `exit ${i + 10}`]);
      expect(r.code).toBe(i + 10);
    }
    const results = await Promise.all([0, 1, 2, 3].map((i) =>
      env.c.ctr(['tasks', 'exec', '--exec-id', `par-${i}`, id, 'sh', '-c', `exit ${i + 20}`])));
    expect(results.map((r) => r.code)).toEqual([20, 21, 22, 23]);
  });

  it('refuses a duplicate exec id with AlreadyExists', async () => {
    const first = env.c.ctr(['tasks', 'exec', '--exec-id', 'dup', id, 'sleep', '3']);
    await eventually(async () => (await env.c.ctr(['tasks', 'ps', id])).stdout.includes('dup'), 10_000, 'the first exec');
    const second = await env.c.ctr(['tasks', 'exec', '--exec-id', 'dup', id, 'true']);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/already exists/);
    expect((await first).code).toBe(0);
  });

  it('answers NotFound for an unknown exec id', async () => {
    const r = await env.c.ctr(['tasks', 'kill', '--exec-id', 'no-such-exec', id]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not found/);
  });

  it('passes the runtime\'s error for a missing executable and keeps serving', async () => {
    const r = await env.c.ctr(['tasks', 'exec', '--exec-id', 'missing', id, '/no/such/binary']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no such file or directory|executable file not found/);
    const ok = await env.c.ctr(['tasks', 'exec', '--exec-id', 'after-missing', id, 'true']);
    expect(ok.code).toBe(0);
  });

  it('signals an exec process', async () => {
    const run = env.c.ctr(['tasks', 'exec', '--exec-id', 'to-kill', id, 'sleep', '1000']);
    await eventually(async () => (await env.c.ctr(['tasks', 'ps', id])).stdout.includes('to-kill'), 10_000, 'the exec');
    await env.c.ctrOk(['tasks', 'kill', '--exec-id', 'to-kill', '-s', 'SIGKILL', id]);
    expect((await run).code).toBe(137);
  });

  it('lists the container\'s processes with their exec ids', async () => {
    const run = env.c.ctr(['tasks', 'exec', '--exec-id', 'listed', id, 'sleep', '5']);
    let out = '';
    await eventually(async () => (out = (await env.c.ctr(['tasks', 'ps', id])).stdout).includes('listed'), 10_000, 'ps');
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/PID\s+INFO/);
    expect(lines.length).toBeGreaterThanOrEqual(3); // init + exec
    await env.c.ctr(['tasks', 'kill', '--exec-id', 'listed', '-s', 'SIGKILL', id]);
    await run;
  });
});
