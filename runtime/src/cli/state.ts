import type { CommandModule } from 'yargs';
import { Container } from '../container/container';
import type { GlobalArgs } from './global';
import { checkSystemdCgroup } from './systemd';

interface Args extends GlobalArgs {
  id: string;
}

export const stateCommand: CommandModule<GlobalArgs, Args> = {
  command: 'state <id>',
  describe: 'output the state of a container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (argv) => {
    checkSystemdCgroup(argv);
    process.stdout.write(JSON.stringify(Container.load(argv.root, argv.id).ociState(), null, 2) + '\n');
  },
};
