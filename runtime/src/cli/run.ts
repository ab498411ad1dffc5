import { createContainer } from '../container/create';
import { deleteContainer } from '../container/delete';
import { startContainer } from '../container/start';
import { log, trace } from '../logging';
import type { CommandSpec } from './command';
import { createOptions, preservedFds, type CreateArgs } from './create';
import { checkSystemdCgroup } from './systemd';

type RunArgs = CreateArgs & {
  detach: boolean;
  keep: boolean;
  'no-subreaper': boolean;
};

/** Signals the runtime passes on to the container's init while it runs in the foreground (runc's signalHandler). */
const forwarded: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT', 'SIGALRM', 'SIGPIPE'];

export const runCommand: CommandSpec<RunArgs> = {
  name: 'run',
  describe: 'create and run a container',
  positionals: [{ name: 'id', required: true }],
  options: {
    ...createOptions,
    detach: { alias: 'd', type: 'boolean', default: false, describe: "detach from the container's process" },
    keep: { type: 'boolean', default: false, describe: 'do not delete the container after it exits' },
    'no-subreaper': { type: 'boolean', default: false, describe: 'accepted for compatibility; the runtime waits on its own child' },
  },
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    const { container, exited } = await createContainer({
      root: argv.root,
      id: argv.id,
      bundle: argv.bundle || '.',
      pidFile: argv['pid-file'],
      consoleSocket: argv['console-socket'],
      noPivot: argv['no-pivot'],
      noNewKeyring: argv['no-new-keyring'],
      preserveFds: preservedFds(argv['preserve-fds']),
      systemdCgroup: argv['systemd-cgroup'],
      waitForInit: !argv.detach,
    });
    const handlers = new Map<NodeJS.Signals, () => void>();
    if (!argv.detach) {
      for (const sig of forwarded) {
        const h = () => {
          try {
            process.kill(container.state.pid, sig);
          } catch {
            /* already gone */
          }
        };
        handlers.set(sig, h);
        process.on(sig, h);
      }
    }
    try {
      await startContainer(argv.root, argv.id);
    } catch (err) {
      await destroyQuietly(argv.root, argv.id);
      throw err;
    }
    trace('timing', 'run: started');
    if (argv.detach) return;
    const status = await exited;
    trace('timing', 'run: container exited');
    for (const [sig, h] of handlers) process.off(sig, h);
    if (!argv.keep) {
      try {
        await deleteContainer(argv.root, argv.id, true);
      } catch (err) {
        log.warn('failed to delete the container after it exited', { id: argv.id, err });
      }
    }
    process.exitCode = status;
  },
};

async function destroyQuietly(root: string, id: string): Promise<void> {
  try {
    await deleteContainer(root, id, true);
  } catch (err) {
    log.warn('failed to clean up', { id, err });
  }
}
