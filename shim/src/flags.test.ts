import { parseFlags } from './flags';

describe('shim flags', () => {
  it('parses containerd\'s start command line', () => {
    const f = parseFlags(['-namespace', 'default', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'c1', '-debug', 'start']);
    expect(f).toMatchObject({ namespace: 'default', address: '/run/containerd/containerd.sock', publishBinary: '/usr/bin/containerd', id: 'c1', debug: true, action: 'start' });
  });

  it('accepts -flag=value and --flag, and defaults the publish binary', () => {
    const f = parseFlags(['--namespace=ns', '-id=x', '-bundle', '/b', 'delete']);
    expect(f).toMatchObject({ namespace: 'ns', id: 'x', bundle: '/b', action: 'delete', publishBinary: 'containerd', debug: false });
    expect(parseFlags(['-namespace', 'n']).action).toBe('');
  });

  it('rejects unknown flags and missing values', () => {
    expect(() => parseFlags(['-nope'])).toThrow('flag provided but not defined: -nope');
    expect(() => parseFlags(['-id'])).toThrow('flag needs an argument: -id');
  });
});
