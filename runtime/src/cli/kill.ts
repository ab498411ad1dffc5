import type { CommandModule } from 'yargs';
import { killContainer } from '../container/kill';
import { parseSignal } from '../process/signals';
import type { GlobalArgs } from './global';
import { checkSystemdCgroup } from './systemd';

interface Args extends GlobalArgs {
  id: string;
  signal: string;
  all: boolean;
}

export const killCommand: CommandModule<GlobalArgs, Args> = {
  command: 'kill <id> [signal]',
  describe: 'kill sends the specified signal (default: SIGTERM) to the container\'s init process',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .positional('signal', { type: 'string', default: 'SIGTERM' })
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: 'send the specified signal to all processes inside the container' }) as never,
  handler: (argv) => {
    checkSystemdCgroup(argv);
    killContainer(argv.root, argv.id, parseSignal(String(argv.signal)), argv.all);
  },
};
