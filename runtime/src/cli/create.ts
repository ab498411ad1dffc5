import { createContainer } from '../container/create';
import type { Args, CommandSpec, OptionSpec } from './command';
import { checkSystemdCgroup } from './systemd';

export type CreateArgs = Args & {
  id: string;
  bundle: string;
  'console-socket'?: string;
  'pid-file'?: string;
  'no-pivot': boolean;
  'no-new-keyring': boolean;
  'preserve-fds': number;
};

/** create's options, shared with run. */
export const createOptions: Record<string, OptionSpec> = {
  bundle: { alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory, defaults to the current directory' },
  'console-socket': { type: 'string', describe: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
  'pid-file': { type: 'string', describe: 'specify the file to write the process id to' },
  'no-pivot': { type: 'boolean', default: false, describe: 'do not use pivot root to jail process inside rootfs' },
  'no-new-keyring': { type: 'boolean', default: false, describe: 'do not create a new session keyring for the container' },
  'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)' },
};

/** systemd socket activation: $LISTEN_FDS fds come first, as runc passes them. */
export function preservedFds(n: number): number {
  const listen = Number(process.env.LISTEN_FDS ?? 0);
  return (Number.isInteger(listen) && listen > 0 ? listen : 0) + (n > 0 ? n : 0);
}

export const createCommand: CommandSpec<CreateArgs> = {
  name: 'create',
  describe: 'create a container',
  positionals: [{ name: 'id', required: true }],
  options: createOptions,
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
