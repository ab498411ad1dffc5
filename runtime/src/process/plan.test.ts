import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodePlan, ForkMode, PLAN_MAGIC, PLAN_VERSION, step, StepFlag, StepKind } from './plan';

const header = fs.readFileSync(path.join(__dirname, '../../native/plan.h'), 'utf8');

/** NAME = value pairs from the C header (enum members and #defines). */
function cConstants(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of header.matchAll(/^\s*(STEP_[A-Z_]+)\s*=\s*(\d+)/gm)) out.set(m[1], Number(m[2]));
  for (const m of header.matchAll(/^#define\s+(F_[A-Z_]+)\s+\(1u << (\d+)\)/gm)) out.set(m[1], 1 << Number(m[2]));
  for (const m of header.matchAll(/^#define\s+(FORK_[A-Z]+)\s+(\d+)/gm)) out.set(m[1], Number(m[2]));
  for (const m of header.matchAll(/^#define\s+(PLAN_MAGIC|PLAN_VERSION)\s+(0x[0-9a-fA-F]+|\d+)u/gm)) out.set(m[1], Number(m[2]));
  return out;
}

const camelToC = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

describe('plan.ts mirrors plan.h', () => {
  const c = cConstants();

  test('every step kind has the same number on both sides', () => {
    const tsKinds = Object.entries(StepKind).filter(([, v]) => typeof v === 'number') as [string, number][];
    const cKinds = [...c].filter(([k]) => k.startsWith('STEP_') && k !== 'STEP_MAX');
    expect(tsKinds.length).toBe(cKinds.length);
    for (const [name, value] of tsKinds) expect([`STEP_${camelToC(name)}`, c.get(`STEP_${camelToC(name)}`)]).toEqual([`STEP_${camelToC(name)}`, value]);
  });

  test('flags, fork modes, magic and version agree', () => {
    expect(StepFlag).toEqual({
      IgnoreEnoent: c.get('F_IGNORE_ENOENT'),
      CheckTarget: c.get('F_CHECK_TARGET'),
      IgnoreEperm: c.get('F_IGNORE_EPERM'),
      SyncStdin: c.get('F_SYNC_STDIN'),
      SearchPath: c.get('F_SEARCH_PATH'),
      CopyUp: c.get('F_COPY_UP'),
    });
    expect(ForkMode).toEqual({ Detach: c.get('FORK_DETACH'), Wait: c.get('FORK_WAIT') });
    expect(PLAN_MAGIC).toBe(c.get('PLAN_MAGIC'));
    expect(PLAN_VERSION).toBe(c.get('PLAN_VERSION'));
  });
});

describe('encodePlan', () => {
  test('lays out header, steps and length-prefixed arguments little-endian', () => {
    const buf = encodePlan([step.mkdir('/a', 0o700), step.exec(['sh', '-c'], ['A=1'])]);
    expect(buf.readUInt32LE(0)).toBe(PLAN_MAGIC);
    expect(buf.readUInt32LE(4)).toBe(PLAN_VERSION);
    expect(buf.readUInt32LE(8)).toBe(buf.length);
    expect(buf.readUInt32LE(12)).toBe(2);
    let at = 16;
    expect(buf.readUInt32LE(at)).toBe(StepKind.Mkdir);
    expect(buf.readUInt32LE(at + 8)).toBe(2);
    at += 12;
    expect(buf.readUInt32LE(at)).toBe(3); // "/a\0"
    expect(buf.subarray(at + 4, at + 7).toString('latin1')).toBe('/a\0');
    at += 7;
    expect(buf.readUInt32LE(at)).toBe(8);
    expect(buf.readBigUInt64LE(at + 4)).toBe(0o700n);
    at += 12;
    expect(buf.readUInt32LE(at)).toBe(StepKind.Exec);
    at += 12;
    expect(buf.subarray(at + 4, at + 4 + buf.readUInt32LE(at)).toString()).toBe('sh\0-c\0');
  });

  test('negative numbers travel as two\'s complement u64', () => {
    const buf = encodePlan([step.sched(0, 0n, -5, 0, 0n, 0n, 0n)]);
    // third argument (nice) of the first step
    let at = 16 + 12;
    for (let i = 0; i < 2; i++) at += 4 + buf.readUInt32LE(at);
    expect(buf.readBigInt64LE(at + 4)).toBe(-5n);
  });
});
