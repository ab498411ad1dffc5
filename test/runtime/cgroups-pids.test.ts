/**
 * pids: fork fails past pids.max; the limit can be raised live; on v2 the
 * same limit set through linux.resources.unified works too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CgroupTracker, describeIf, isV2, waitFor } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

/** Ten background sleeps; busybox sh gives up (exit 2, "can't fork") at the first fork that fails. */
const FORKS = 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; echo started; wait';

describe('pids', () => {
  it('fork fails past the limit, and the kernel counts the refusals', async () => {
    const m = t.manager('pids');
    m.create();
    m.set({ pids: { limit: 4 } });
    const p = t.start(m, FORKS);
    expect((await p.exited).code).toBe(2);
    // the sleeps hold the pipes open: wait for the message rather than for EOF
    await waitFor(() => /can't fork: Resource temporarily unavailable/.test(p.output()), 5000, 'the fork error');
    expect(p.output()).not.toContain('started');
    // the shell and three sleeps fitted; the shell is gone now
    expect(m.pids().length).toBe(3);
    expect(m.stats().pids).toEqual({ current: 3n, limit: 4n });
    const dir = m.paths()[isV2 ? '' : 'pids'];
    expect(fs.readFileSync(path.join(dir, 'pids.max'), 'utf8').trim()).toBe('4');
    expect(Number(/^max (\d+)/m.exec(fs.readFileSync(path.join(dir, 'pids.events'), 'utf8'))?.[1])).toBeGreaterThan(0);
  });

  it('raising the limit live lets the forks through; -1 means max', async () => {
    const m = t.manager('pidsup');
    m.create();
    m.set({ pids: { limit: 2 } });
    const p = t.start(m, 'read _again; ' + FORKS);
    m.set({ pids: { limit: 20 } });
    p.child.stdin!.write('go\n');
    await waitFor(() => p.output().includes('started'), 10_000, 'the forks');
    expect(m.pids().length).toBe(11);
    m.set({ pids: { limit: -1 } });
    expect(m.stats().pids).toEqual({ current: 11n, limit: 0n }); // runc reports "max" as 0
  });
});

describeIf(isV2, 'needs cgroup v2')('unified (v2)', () => {
  it('pids.max through linux.resources.unified is enforced', async () => {
    const m = t.manager('unified');
    m.create();
    m.set({ unified: { 'pids.max': '3' } });
    const p = t.start(m, FORKS);
    expect((await p.exited).code).toBe(2);
    await waitFor(() => /can't fork/.test(p.output()), 5000, 'the fork error');
    expect(m.pids().length).toBe(2);
  });
});
