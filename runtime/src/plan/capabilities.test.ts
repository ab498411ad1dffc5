import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CAPABILITIES,
  CAP_LAST_CAP,
  RUNC_DEFAULT_CAPABILITIES,
  capabilityMasks,
  capabilityName,
  capabilityNames,
  capabilityNumber,
  defaultCapabilities,
  kernelLastCap,
} from './capabilities';

const HEADER = '/usr/include/linux/capability.h';

describe('capability names and numbers', () => {
  (existsSync(HEADER) ? test : test.skip)('match linux/capability.h', () => {
    const defs = [...readFileSync(HEADER, 'utf8').matchAll(/^#define (CAP_[A-Z_]+)\s+(\d+)\s*$/gm)]
      .map((m) => [m[1], Number(m[2])] as const)
      .filter(([name]) => name !== 'CAP_LAST_CAP');
    expect(defs.length).toBe(CAPABILITIES.length);
    for (const [name, n] of defs) expect([name, capabilityNumber(name)]).toEqual([name, n]);
    expect(CAP_LAST_CAP).toBe(40);
    expect(capabilityName(40)).toBe('CAP_CHECKPOINT_RESTORE');
    expect(capabilityName(41)).toBeUndefined();
  });

  test('the running kernel last cap is read from /proc, with a fallback', () => {
    const n = kernelLastCap();
    expect(n).toBeGreaterThanOrEqual(36);
    expect(kernelLastCap('/nonexistent/cap_last_cap')).toBe(CAP_LAST_CAP);
  });
});

describe('capabilityMasks', () => {
  test('each set becomes a mask; absent sets are empty', () => {
    const m = capabilityMasks({ bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE'], effective: ['CAP_KILL'], ambient: [] }, { lastCap: 40 });
    expect(m.bounding).toBe((1n << 0n) | (1n << 5n) | (1n << 40n));
    expect(m.effective).toBe(1n << 5n);
    expect(m.permitted).toBe(0n);
    expect(m.inheritable).toBe(0n);
    expect(m.ambient).toBe(0n);
    expect(m.ignored).toEqual([]);
    expect(capabilityNames(m.bounding)).toEqual(['CAP_CHOWN', 'CAP_KILL', 'CAP_CHECKPOINT_RESTORE']);
    expect(capabilityMasks(undefined, { lastCap: 40 }).bounding).toBe(0n);
  });

  test('capabilities newer than the kernel are dropped and reported, like runc', () => {
    const m = capabilityMasks({ bounding: ['CAP_BPF', 'CAP_CHECKPOINT_RESTORE', 'CAP_SYS_ADMIN'], permitted: ['CAP_BPF'] }, { lastCap: 38 });
    expect(m.bounding).toBe(1n << 21n);
    expect(m.permitted).toBe(0n);
    expect(m.ignored.sort()).toEqual(['CAP_BPF', 'CAP_CHECKPOINT_RESTORE']);
  });

  test.each([['CAP_NET_ADMN'], ['cap_chown'], ['CHOWN'], ['CAP_41']])('refuses %s with a clear error', (name) => {
    expect(() => capabilityMasks({ effective: [name] })).toThrow(new RegExp(`unknown capability "${name}" in process.capabilities.effective`));
    try {
      capabilityMasks({ effective: [name] });
    } catch (err) {
      expect((err as { kind?: string }).kind).toBe('InvalidArgument');
    }
  });
});

const hasRunc = spawnSync('runc', ['--version']).status === 0;
(hasRunc ? describe : describe.skip)(`runc spec defaults${hasRunc ? '' : ' — skipped: no runc'}`, () => {
  test('RUNC_DEFAULT_CAPABILITIES equals what `runc spec` writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-caps-'));
    try {
      execFileSync('runc', ['spec'], { cwd: dir });
      const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(defaultCapabilities()).toEqual(spec.process.capabilities);
      expect(RUNC_DEFAULT_CAPABILITIES).toEqual(spec.process.capabilities);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
