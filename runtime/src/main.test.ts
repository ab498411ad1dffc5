import { normalizeArgv } from './main';

describe('normalizeArgv (runc-style command lines for yargs)', () => {
  test('single-dash long flags become double-dash', () => {
    expect(normalizeArgv(['-root', '/r', 'run', '-no-subreaper', '-b', 'x', 'id'])).toEqual(['--root', '/r', 'run', '--no-subreaper', '-b', 'x', 'id']);
  });

  test('exec: everything after the container id is the command, options included', () => {
    expect(normalizeArgv(['--root', '/r', 'exec', '-t', '--cwd', '/tmp', 'c1', 'sh', '-c', 'echo $1'])).toEqual([
      '--root', '/r', 'exec', '-t', '--cwd', '/tmp', 'c1', '--', 'sh', '-c', 'echo $1',
    ]);
    expect(normalizeArgv(['exec', '-e', 'A=1', '--user', '1000:1000', 'c1', 'id', '-u'])).toEqual(['exec', '-e', 'A=1', '--user', '1000:1000', 'c1', '--', 'id', '-u']);
  });

  test('ps: arguments after the id go to ps(1)', () => {
    expect(normalizeArgv(['ps', 'c1', '-ef'])).toEqual(['ps', 'c1', '--', '-ef']);
    expect(normalizeArgv(['ps', '--format', 'json', 'c1'])).toEqual(['ps', '--format', 'json', 'c1']);
  });

  test('a value that starts with "-" stays the option\'s value', () => {
    expect(normalizeArgv(['update', '--resources', '-', 'c1'])).toEqual(['update', '--resources=-', 'c1']);
  });

  test('an explicit -- is kept as it is', () => {
    expect(normalizeArgv(['exec', 'c1', '--', 'ls'])).toEqual(['exec', 'c1', '--', 'ls']);
  });

  test('the global --rootless is told apart from spec --rootless', () => {
    expect(normalizeArgv(['--rootless=true', 'state', 'x'])).toEqual(['--global-rootless=true', 'state', 'x']);
    expect(normalizeArgv(['--rootless', 'auto', 'list'])).toEqual(['--global-rootless', 'auto', 'list']);
    expect(normalizeArgv(['spec', '--rootless'])).toEqual(['spec', '--rootless']);
  });
});
