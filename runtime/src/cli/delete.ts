import { deleteContainer } from '../container/delete';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

export const deleteCommand: CommandSpec<Args & { id: string; force: boolean }> = {
  name: 'delete',
  describe: 'delete any resources held by the container often used with detached container',
  positionals: [{ name: 'id', required: true }],
  options: { force: { alias: 'f', type: 'boolean', default: false, describe: 'forcibly deletes the container if it is still running (uses SIGKILL)' } },
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await deleteContainer(argv.root, argv.id, argv.force);
  },
};
