import { startContainer } from '../container/start';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

export const startCommand: CommandSpec<Args & { id: string }> = {
  name: 'start',
  describe: 'executes the user defined process in a created container',
  positionals: [{ name: 'id', required: true }],
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await startContainer(argv.root, argv.id);
  },
};
