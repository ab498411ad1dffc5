import { Container } from '../container/container';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

export const stateCommand: CommandSpec<Args & { id: string }> = {
  name: 'state',
  describe: 'output the state of a container',
  positionals: [{ name: 'id', required: true }],
  handler: (argv) => {
    checkSystemdCgroup(argv);
    process.stdout.write(JSON.stringify(Container.load(argv.root, argv.id).ociState(), null, 2) + '\n');
  },
};
