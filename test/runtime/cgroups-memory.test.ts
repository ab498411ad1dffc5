/**
 * memory: the kernel OOM-kills a hog at its limit, and the OOM watcher
 * (what `events` streams) reports it; swap semantics; a limit below what is
 * in use is refused on v1 with runc's message and nothing changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OomEvent } from '../../runtime/src/cgroups/manager';
import { CgroupTracker, describeIf, isV2, waitFor, within } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

const MiB = 1024 * 1024;
/** Doubles a shell string until the memory runs out. */
const HOG = 'x=0123456789abcdef; while :; do x=$x$x; done';

describe('memory', () => {
  it('a hog is OOM-killed at its limit and the watcher reports the OOM', async () => {
    const m = t.manager('oom');
    m.create();
    m.set({ memory: { limit: 32 * MiB, swap: 32 * MiB } });
    const dir = m.paths()[isV2 ? '' : 'memory'];
    if (isV2) {
      expect(fs.readFileSync(path.join(dir, 'memory.max'), 'utf8').trim()).toBe(String(32 * MiB));
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) expect(fs.readFileSync(path.join(dir, 'memory.swap.max'), 'utf8').trim()).toBe('0');
    } else {
      expect(fs.readFileSync(path.join(dir, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(32 * MiB));
      expect(fs.readFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), 'utf8').trim()).toBe(String(32 * MiB));
    }
    expect(m.oomKillCount()).toBe(0);

    const watcher = m.watchOOM({ intervalMs: 50 });
    const events: OomEvent[] = [];
    const collected = (async () => {
      for await (const e of watcher) {
        events.push(e);
        break;
      }
    })();
    const hog = t.start(m, HOG);
    const exit = await hog.exited;
    expect(exit.signal).toBe('SIGKILL');
    await within(collected, 10_000);
    watcher.close();
    expect(events).toEqual([{ type: 'oom', oomKills: 1 }]);
    expect(m.oomKillCount()).toBe(1);
    const s = m.stats();
    expect(s.memory.usage.limit).toBe(BigInt(32 * MiB));
    // the peak reached the limit (failcnt is not counted by every kernel: 6.18 leaves it 0)
    if (!isV2) expect(s.memory.usage.maxUsage).toBe(BigInt(32 * MiB));
  });

  it('the watcher ends when the cgroup goes away', async () => {
    const m = t.manager('oomend');
    m.create();
    m.set({ memory: { limit: 64 * MiB } });
    const watcher = m.watchOOM({ intervalMs: 20 });
    const done = (async () => {
      const got: OomEvent[] = [];
      for await (const e of watcher) got.push(e);
      return got;
    })();
    m.destroy();
    await expect(within(done, 5000)).resolves.toEqual([]);
  });

  it('update: raising and lowering limit and swap together, in the order the kernel accepts', async () => {
    const m = t.manager('update');
    m.create();
    m.set({ memory: { limit: 64 * MiB, swap: 128 * MiB } });
    m.set({ memory: { limit: 256 * MiB, swap: 512 * MiB } }); // raise both: swap first on v1
    m.set({ memory: { limit: 16 * MiB, swap: 32 * MiB } }); // lower both: limit first on v1
    const s = m.stats();
    expect(s.memory.usage.limit).toBe(BigInt(16 * MiB));
    if (!isV2) expect(s.memory.swapUsage.limit).toBe(BigInt(32 * MiB));
    else if (fs.existsSync(path.join(m.paths()[''], 'memory.swap.max'))) expect(s.memory.swapUsage.limit).toBe(BigInt(32 * MiB));
  });
});

describeIf(!isV2, 'cgroup v1 only (v2 reclaims or OOM-kills instead of refusing)')('memory v1: a limit below the usage', () => {
  it('is refused with the usage in the message, and nothing is changed', async () => {
    const m = t.manager('busy');
    m.create();
    m.set({ memory: { limit: 256 * MiB, swap: 256 * MiB }, pids: { limit: 100 } });
    // busybox tail -c holds what it read until EOF: 40 MB of anonymous memory, no swap to go to.
    t.start(m, '(head -c 40000000 /dev/zero; sleep 30) | tail -c 40000000 >/dev/null');
    await waitFor(() => m.stats().memory.usage.usage > 38_000_000n, 10_000, 'the process to fill its memory');
    const dir = m.paths().memory;
    expect(() => m.set({ pids: { limit: 50 }, memory: { limit: 4 * MiB } })).toThrow(/unable to set memory limit to 4194304 \(current usage: \d+, peak usage: \d+\)/);
    expect(fs.readFileSync(path.join(dir, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(256 * MiB));
    // pids is later in runc's order: never written
    expect(fs.readFileSync(path.join(m.paths().pids, 'pids.max'), 'utf8').trim()).toBe('100');
  });
});

describeIf(!isV2, 'cgroup v1 only (v2 has no way to disable the OOM killer: refused there)')('memory v1: disableOOMKiller', () => {
  it('the hog is not killed but stops at the limit (under_oom), and the watcher reports it', async () => {
    const m = t.manager('nooomkill');
    m.create();
    m.set({ memory: { limit: 16 * MiB, swap: 16 * MiB, disableOOMKiller: true } });
    const dir = m.paths().memory;
    expect(fs.readFileSync(path.join(dir, 'memory.oom_control'), 'utf8')).toMatch(/^oom_kill_disable 1$/m);
    const watcher = m.watchOOM({ intervalMs: 50 });
    const first = (async () => {
      for await (const e of watcher) return e;
      return undefined;
    })();
    const hog = t.start(m, HOG);
    await expect(within(first, 10_000)).resolves.toEqual({ type: 'oom', oomKills: 1 });
    watcher.close();
    expect(fs.readFileSync(path.join(dir, 'memory.oom_control'), 'utf8')).toMatch(/^under_oom 1$/m);
    expect(m.oomKillCount()).toBe(0); // nothing killed
    expect(hog.child.exitCode).toBeNull();
    process.kill(hog.pid, 'SIGKILL');
    expect((await hog.exited).signal).toBe('SIGKILL');
  });
});

