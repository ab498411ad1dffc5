/**
 * cpu: a quota of 0.2 cpu holds a busy loop near 20% (measured from the
 * cgroup's own cpu accounting over 1.5 s); shares become cpu.shares on v1 and
 * cpu.weight on v2 (runc's conversion); cpus pins through cpuset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CgroupTracker, isV2, sleep } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

describe('cpu', () => {
  it('a 0.2 cpu quota holds a busy loop near 20%', async () => {
    const m = t.manager('quota');
    m.create();
    m.set({ cpu: { quota: 20000, period: 100000 } });
    t.start(m, 'while :; do :; done');
    await sleep(300); // let it start and hit the quota
    const before = m.stats().cpu.usage.totalUsage;
    const t0 = process.hrtime.bigint();
    await sleep(1500);
    const used = Number(m.stats().cpu.usage.totalUsage - before);
    const elapsed = Number(process.hrtime.bigint() - t0);
    const share = used / elapsed;
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.35);
    const s = m.stats();
    expect(s.cpu.throttling.throttledPeriods).toBeGreaterThan(0n);
    expect(s.cpu.throttling.periods).toBeGreaterThanOrEqual(s.cpu.throttling.throttledPeriods);
  });

  it('shares → cpu.shares (v1) or cpu.weight (v2), cpus → cpuset.cpus', () => {
    const m = t.manager('shares', { resources: { cpu: { cpus: '0' } } });
    m.create();
    m.set({ cpu: { shares: 512, cpus: '0' } });
    const p = m.paths();
    if (isV2) {
      expect(fs.readFileSync(path.join(p[''], 'cpu.weight'), 'utf8').trim()).toBe('20');
      expect(fs.readFileSync(path.join(p[''], 'cpuset.cpus'), 'utf8').trim()).toBe('0');
    } else {
      expect(fs.readFileSync(path.join(p.cpu, 'cpu.shares'), 'utf8').trim()).toBe('512');
      expect(fs.readFileSync(path.join(p.cpuset, 'cpuset.cpus'), 'utf8').trim()).toBe('0');
      // create() filled mems from the parent, so tasks can join
      expect(fs.readFileSync(path.join(p.cpuset, 'cpuset.mems'), 'utf8').trim()).not.toBe('');
    }
    const c = t.start(m, 'sleep 30');
    expect(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8')).toMatch(/^Cpus_allowed_list:\s+0$/m);
  });
});
