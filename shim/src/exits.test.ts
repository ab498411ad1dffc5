import { ExitMonitor } from './exits';
import type { ExitRecord } from './native/channel';
import { exitStatus } from './native/channel';

const rec = (pid: number, status = 0): ExitRecord => ({ pid, status, exitedAt: { seconds: 1, nanos: 2 } });

describe('exit routing', () => {
  it('delivers an exit to the registered owner once', () => {
    const m = new ExitMonitor();
    const got: number[] = [];
    m.register(10, (e) => got.push(e.pid));
    m.exit(rec(10));
    m.exit(rec(10));
    expect(got).toEqual([10]);
  });

  it('keeps the exit of a process that died before its pid was known', () => {
    const unknown: number[] = [];
    const m = new ExitMonitor((e) => unknown.push(e.pid));
    const sub = m.subscribe();
    m.exit(rec(42, 3 << 8)); // exits while `runtime exec` is still running
    const got: ExitRecord[] = [];
    sub.claim(42, (e) => got.push(e)); // the pid file is read afterwards
    sub.close();
    expect(got.map((e) => exitStatus(e.status))).toEqual([3]);
    expect(unknown).toEqual([]);
    m.exit(rec(43)); // nobody starting: an orphan
    expect(unknown).toEqual([43]);
  });

  it('registers the pid when it has not exited yet', () => {
    const m = new ExitMonitor();
    const sub = m.subscribe();
    const got: number[] = [];
    sub.claim(7, (e) => got.push(e.pid));
    sub.close();
    expect(got).toEqual([]);
    m.exit(rec(7));
    expect(got).toEqual([7]);
  });

  it('holds an exit until the start event is out', () => {
    const m = new ExitMonitor();
    const order: string[] = [];
    m.register(5, () => order.push('exit'));
    m.hold(5);
    m.exit(rec(5)); // reaped before `runtime start` returned
    order.push('start');
    m.release(5);
    expect(order).toEqual(['start', 'exit']);
  });
});

describe('exit status', () => {
  it('is the exit code, or 128 + the signal', () => {
    expect(exitStatus(0)).toBe(0);
    expect(exitStatus(7 << 8)).toBe(7);
    expect(exitStatus(9)).toBe(137); // SIGKILL
    expect(exitStatus(15 | 0x80)).toBe(143); // SIGTERM with a core dump
  });
});
