import type { CommandModule } from 'yargs';
import { deleteContainer } from '../container/delete';
import type { GlobalArgs } from './global';
import { checkSystemdCgroup } from './systemd';

interface Args extends GlobalArgs {
  id: string;
  force: boolean;
}

export const deleteCommand: CommandModule<GlobalArgs, Args> = {
  command: 'delete <id>',
  describe: 'delete any resources held by the container often used with detached container',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'forcibly deletes the container if it is still running (uses SIGKILL)' }) as never,
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await deleteContainer(argv.root, argv.id, argv.force);
  },
};
