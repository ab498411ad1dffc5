import { execInContainer, processFromFile, processFromFlags } from '../container/exec';
import { Container } from '../container/container';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { preservedFds } from './create';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

type ExecArgs = Args & {
  id: string;
  command: string[];
  'console-socket'?: string;
  cwd?: string;
  env?: string | string[];
  tty: boolean;
  user?: string;
  'additional-gids'?: number | number[];
  process?: string;
  detach: boolean;
  'pid-file'?: string;
  'process-label'?: string;
  apparmor?: string;
  'no-new-privs'?: boolean;
  cap?: string | string[];
  'preserve-fds': number;
  'ignore-paused': boolean;
};

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const forwarded: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export const execCommand: CommandSpec<ExecArgs> = {
  name: 'exec',
  describe: 'execute new process inside the container',
  positionals: [{ name: 'id', required: true }, { name: 'command', variadic: true }],
  passThrough: true,
  options: {
    'console-socket': { type: 'string', describe: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" },
    cwd: { type: 'string', describe: 'current working directory in the container' },
    env: { alias: 'e', type: 'strings', describe: 'set environment variables (repeatable)' },
    tty: { alias: 't', type: 'boolean', default: false, describe: 'allocate a pseudo-TTY' },
    user: { alias: 'u', type: 'string', describe: 'UID (format: <uid>[:<gid>])' },
    'additional-gids': { alias: 'g', type: 'numbers', describe: 'additional gids (repeatable)' },
    process: { alias: 'p', type: 'string', describe: 'path to the process.json' },
    detach: { alias: 'd', type: 'boolean', default: false, describe: "detach from the container's process" },
    'pid-file': { type: 'string', describe: 'specify the file to write the process id to' },
    'process-label': { type: 'string', describe: 'set the asm process label for the process commonly used with selinux' },
    apparmor: { type: 'string', describe: 'set the apparmor profile for the process' },
    'no-new-privs': { type: 'boolean', describe: 'set the no new privileges value for the process' },
    cap: { alias: 'c', type: 'strings', describe: 'add a capability to the bounding set for the process (repeatable)' },
    'preserve-fds': { type: 'number', default: 0, describe: 'pass N additional file descriptors to the container' },
    'ignore-paused': { type: 'boolean', default: false, describe: 'allow exec in a paused container' },
  },
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    const command = [...argv.command, ...(argv['--'] ?? [])].map(String);
    let process_;
    if (argv.process) {
      process_ = processFromFile(argv.process);
    } else {
      if (command.length === 0) throw new InvalidArgumentError('process args cannot be empty');
      const c = Container.load(argv.root, argv.id);
      process_ = processFromFlags(c.state.config.process!, {
        args: command,
        cwd: argv.cwd,
        env: list(argv.env).map(String),
        tty: argv.tty,
        user: argv.user === undefined ? undefined : String(argv.user),
        additionalGids: list(argv['additional-gids']).map(Number),
        caps: list(argv.cap).map(String),
        noNewPrivs: argv['no-new-privs'],
        apparmor: argv.apparmor,
        processLabel: argv['process-label'],
      });
    }
    const { pid, exited } = await execInContainer({
      root: argv.root,
      id: argv.id,
      process: process_,
      consoleSocket: argv['console-socket'],
      pidFile: argv['pid-file'],
      detach: argv.detach,
      preserveFds: preservedFds(argv['preserve-fds']),
      ignorePaused: argv['ignore-paused'],
    });
    if (argv.detach) return;
    const handlers = forwarded.map((sig) => {
      const h = () => {
        try {
          process.kill(pid, sig);
        } catch {
          /* gone */
        }
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
    const status = await exited;
    for (const [sig, h] of handlers) process.off(sig, h);
    process.exitCode = status;
  },
};
