import type { CommandModule } from 'yargs';
import { createContainer } from '../container/create';
import type { GlobalArgs } from './global';
import { checkSystemdCgroup } from './systemd';

export interface CreateArgs extends GlobalArgs {
  id: string;
  bundle: string;
  'console-socket'?: string;
  'pid-file'?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
}

export function createFlags<T>(y: import('yargs').Argv<T>) {
  return y
    .positional('id', { type: 'string', demandOption: true, describe: 'the container id' })
    .option('bundle', { alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory, defaults to the current directory' })
    .option('console-socket', { type: 'string', describe: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" })
    .option('pid-file', { type: 'string', describe: 'specify the file to write the process id to' })
    .option('no-pivot', { type: 'boolean', default: false, describe: 'do not use pivot root to jail process inside rootfs' })
    .option('no-new-keyring', { type: 'boolean', default: false, describe: 'do not create a new session keyring for the container' })
    .option('preserve-fds', { type: 'number', default: 0, describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' });
}

/** systemd socket activation: $LISTEN_FDS fds come first, as runc passes them. */
export function preservedFds(n: number): number {
  const listen = Number(process.env.LISTEN_FDS ?? 0);
  return (Number.isInteger(listen) && listen > 0 ? listen : 0) + (n > 0 ? n : 0);
}

export const createCommand: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <id>',
  describe: 'create a container',
  builder: (y) => createFlags(y) as never,
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await createContainer({
      root: argv.root,
      id: argv.id,
      bundle: argv.bundle || '.',
      pidFile: argv['pid-file'],
      consoleSocket: argv['console-socket'],
      noPivot: argv['no-pivot'],
      noNewKeyring: argv['no-new-keyring'],
      preserveFds: preservedFds(argv['preserve-fds']),
      systemdCgroup: argv['systemd-cgroup'],
    });
  },
};
