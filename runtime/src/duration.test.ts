import { formatDuration, parseDuration } from './duration';

test('parses Go durations into milliseconds', () => {
  expect(parseDuration('5s')).toBe(5000);
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('1m30s')).toBe(90_000);
  expect(parseDuration('1.5h')).toBe(5_400_000);
  expect(parseDuration('250us')).toBeCloseTo(0.25);
  expect(parseDuration('100ns')).toBeCloseTo(0.0001);
  expect(parseDuration('0')).toBe(0);
  expect(parseDuration('0s')).toBe(0);
  expect(parseDuration('-2s')).toBe(-2000);
  expect(parseDuration('+1ms')).toBe(1);
});

test('refuses what Go refuses', () => {
  for (const bad of ['', '5', 'ms', '1d', '5 s', 'abc', '-', '1s2']) expect(() => parseDuration(bad)).toThrow(/invalid duration/);
});

test('prints durations as Go does, and they read back', () => {
  const cases: [number, string][] = [[0, '0s'], [100, '100ms'], [1500, '1.5s'], [60_000, '1m0s'], [90_000, '1m30s'], [3_600_000, '1h0m0s'], [5_400_000, '1h30m0s'], [-2000, '-2s']];
  for (const [ms, go] of cases) {
    expect(formatDuration(ms)).toBe(go);
    expect(parseDuration(go)).toBe(ms);
  }
});
