import { fastParse, type CommandSpec, type OptionSpec } from './command';

const globals: Record<string, OptionSpec> = {
  root: { type: 'string', default: '/run/x', describe: '' },
  log: { type: 'string', describe: '' },
  debug: { type: 'boolean', default: false, describe: '' },
};
const create: CommandSpec<never> = {
  name: 'create',
  describe: '',
  positionals: [{ name: 'id', required: true }],
  options: { bundle: { alias: 'b', type: 'string', default: '', describe: '' }, 'preserve-fds': { type: 'number', default: 0, describe: '' } },
  handler: () => undefined,
};
const exec: CommandSpec<never> = {
  name: 'exec',
  describe: '',
  passThrough: true,
  positionals: [{ name: 'id', required: true }, { name: 'command', variadic: true }],
  options: { env: { alias: 'e', type: 'strings', describe: '' }, tty: { alias: 't', type: 'boolean', default: false, describe: '' } },
  handler: () => undefined,
};
const kill: CommandSpec<never> = {
  name: 'kill',
  describe: '',
  positionals: [{ name: 'id', required: true }, { name: 'signal', default: 'SIGTERM' }],
  handler: () => undefined,
};
const specs = [create, exec, kill];

describe('fastParse', () => {
  test('globals, command options and positionals, as yargs would give them', () => {
    const r = fastParse(specs, globals, ['--root', '/r', '--log=/l', 'create', '-b', '/b', '--preserve-fds', '2', 'c1'])!;
    expect(r.spec).toBe(create);
    expect(r.argv).toMatchObject({ root: '/r', log: '/l', debug: false, bundle: '/b', 'preserve-fds': 2, id: 'c1', _: ['create'] });
  });

  test('defaults, optional positionals, repeatable options and the pass-through part', () => {
    expect(fastParse(specs, globals, ['kill', 'c1'])!.argv).toMatchObject({ root: '/run/x', id: 'c1', signal: 'SIGTERM' });
    const r = fastParse(specs, globals, ['exec', '-e', 'A=1', '--env', 'B=2', '-t', 'c1', '--', 'sh', '-c', 'x'])!;
    expect(r.argv).toMatchObject({ env: ['A=1', 'B=2'], tty: true, id: 'c1', '--': ['sh', '-c', 'x'] });
  });

  test('declines whatever yargs should handle: help, unknown options, bad numbers, missing positionals', () => {
    for (const args of [['create', '--help', 'c1'], ['create', '--nope', 'c1'], ['create', '--preserve-fds', 'x', 'c1'], ['create'], ['kill', 'a', 'b', 'c'], ['frobnicate'], ['--version']]) {
      expect([args, fastParse(specs, globals, args)]).toEqual([args, undefined]);
    }
  });
});
