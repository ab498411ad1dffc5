import { DEFAULT_IDLE_EXIT_MS, idleExitMs, resumedFds } from './hibernate';

describe('hibernation settings', () => {
  it('reads BERTH_SHIM_IDLE_EXIT as milliseconds, 0 for never', () => {
    expect(idleExitMs(undefined)).toBe(DEFAULT_IDLE_EXIT_MS);
    expect(idleExitMs('')).toBe(DEFAULT_IDLE_EXIT_MS);
    expect(idleExitMs('0')).toBe(0);
    expect(idleExitMs('250')).toBe(250);
    for (const bad of ['-1', '1.5', 'soon', '10s']) expect(() => idleExitMs(bad)).toThrow(/BERTH_SHIM_IDLE_EXIT=.*milliseconds/);
  });

  it('reads the handed-over fds from BERTH_SHIM_RESUME', () => {
    expect(resumedFds(undefined)).toBeUndefined(); // a first start
    expect(resumedFds('')).toEqual(new Map()); // woken, nothing handed over
    expect(resumedFds('conn0=5 c0.p0.out=6 c0.p0.outdest=7')).toEqual(new Map([['conn0', 5], ['c0.p0.out', 6], ['c0.p0.outdest', 7]]));
    for (const bad of ['conn0', '=5', 'conn0=x', 'conn0=2']) expect(() => resumedFds(bad)).toThrow(/BERTH_SHIM_RESUME: bad entry/);
  });
});
