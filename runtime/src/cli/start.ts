import type { CommandModule } from 'yargs';
import { startContainer } from '../container/start';
import type { GlobalArgs } from './global';
import { checkSystemdCgroup } from './systemd';

interface Args extends GlobalArgs {
  id: string;
}

export const startCommand: CommandModule<GlobalArgs, Args> = {
  command: 'start <id>',
  describe: 'executes the user defined process in a created container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await startContainer(argv.root, argv.id);
  },
};
