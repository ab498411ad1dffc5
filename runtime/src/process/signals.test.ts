import { parseSignal, signalName } from './signals';

// runc kill and berthctl tasks kill parse signals alike (moby/sys/signal.ParseSignal).
test('signals by name, short name or number', () => {
  expect(parseSignal('SIGKILL')).toBe(9);
  expect(parseSignal('kill')).toBe(9);
  expect(parseSignal('15')).toBe(15);
  expect(parseSignal('SIGRTMIN+3')).toBe(37);
  expect(parseSignal('RTMAX-1')).toBe(63);
  expect(signalName(15)).toBe('SIGTERM');
});

test('no signal 0, none above 64, no unknown name', () => {
  for (const bad of ['0', '65', '-1', 'SIGNOPE', '', 'SIGRTMAX-40']) expect(() => parseSignal(bad)).toThrow(/unknown signal/);
});
