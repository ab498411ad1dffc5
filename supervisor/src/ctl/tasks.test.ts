import { commandArgs } from './run';
import { metricRows } from './tasks';

test('a command is its positional words, then what follows --', () => {
  expect(commandArgs(['sleep', '5'], ['node', 'berthctl', 'run', 'x', 'id', 'sleep', '5'])).toEqual(['sleep', '5']);
  expect(commandArgs([], ['node', 'berthctl', 'run', 'x', 'id', '--', 'sh', '-c', 'exit 7'])).toEqual(['sh', '-c', 'exit 7']);
});

test('metrics rows are ctr\'s, for cgroup v1 and v2', () => {
  expect(metricRows('io.containerd.cgroups.v1.Metrics', { memory: { usage: { usage: '10', limit: '20' }, totalCache: '3' }, pids: { current: '1', limit: '0' } })).toEqual([
    ['memory.usage_in_bytes', '10'], ['memory.limit_in_bytes', '20'], ['memory.stat.cache', '3'], ['pids.current', '1'], ['pids.limit', '0'],
  ]);
  expect(metricRows('io.containerd.cgroups.v2.Metrics', { cpu: { usageUsec: '5' } })[0]).toEqual(['cpu.usage_usec', '5']);
});
