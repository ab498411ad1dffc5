import { convertBlkIOToIOWeightValue, convertCPUSharesToCgroupV2Value, convertMemorySwapToCgroupV2Value } from './convert';

describe('convertCPUSharesToCgroupV2Value (runc utils.go)', () => {
  it.each([
    [0, 0],
    [2, 1],
    [1024, 39],
    [262144, 10000],
    [512, 20],
  ])('shares %d → weight %d', (shares, weight) => {
    expect(convertCPUSharesToCgroupV2Value(shares)).toBe(weight);
  });
});

describe('convertBlkIOToIOWeightValue', () => {
  it.each([
    [0, 0],
    [10, 1],
    [500, 4950],
    [1000, 10000],
  ])('blkio weight %d → io.weight %d', (w, io) => {
    expect(convertBlkIOToIOWeightValue(w)).toBe(io);
  });
});

describe('convertMemorySwapToCgroupV2Value (runc utils_test.go cases)', () => {
  it.each([
    ['0/0: unset', 0, 0, 0],
    ['unlimited memory, no swap: unlimited swap', 0, -1, -1],
    ['-1/-1', -1, -1, -1],
    ['max swap with a limit', -1, 1000, -1],
    ['swap equal to memory: no swap', 1000, 1000, 0],
    ['memory+swap 2000 over 1000: 1000 of swap', 2000, 1000, 1000],
  ])('%s', (_name, swap, mem, want) => {
    expect(convertMemorySwapToCgroupV2Value(swap, mem)).toBe(want);
  });

  it.each([
    ['swap without a memory limit', 1000, 0, 'unable to set swap limit without memory limit'],
    ['swap with unlimited memory', 1000, -1, 'unable to set swap limit without memory limit'],
    ['swap below memory', 500, 1000, 'memory+swap limit should be >= memory limit'],
    ['negative memory', 1000, -2, 'invalid memory value: -2'],
  ])('refuses %s', (_name, swap, mem, msg) => {
    expect(() => convertMemorySwapToCgroupV2Value(swap, mem)).toThrow(msg);
  });
});
