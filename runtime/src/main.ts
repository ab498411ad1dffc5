/**
 * berth-runtime: a runc-compatible OCI runtime.
 *
 * The command line mirrors runc's (commands, flags, outputs, exit codes), so
 * that containerd, Docker, Podman and conmon can call it in place of runc.
 * Errors go to stderr as one line (logrus text, or just the message when
 * --log is given, where the entry goes instead) and exit with status 1.
 */
import yargs from 'yargs';
import { BerthError } from '../../proto/src/errdefs';
import { createCommand } from './cli/create';
import { deleteCommand } from './cli/delete';
import { eventsCommand } from './cli/events';
import { execCommand } from './cli/exec';
import { featuresCommand } from './cli/features';
import { DEFAULT_ROOT } from './cli/global';
import { killCommand } from './cli/kill';
import { listCommand } from './cli/list';
import { pauseCommand, resumeCommand } from './cli/pause';
import { psCommand } from './cli/ps';
import { runCommand } from './cli/run';
import { specCommand } from './cli/spec';
import { startCommand } from './cli/start';
import { stateCommand } from './cli/state';
import { updateCommand } from './cli/update';
import { closeLogging, configureLogging, formatText, log, logOptions, trace } from './logging';

export const VERSION = '0.1.0';

/** Every long option, so that runc's single-dash spelling ("-no-subreaper") can be accepted. */
const longOptions = new Set([
  'root', 'log', 'log-format', 'debug', 'systemd-cgroup', 'rootless', 'criu', 'bundle', 'console-socket', 'pid-file',
  'no-pivot', 'no-new-keyring', 'preserve-fds', 'detach', 'keep', 'no-subreaper', 'force', 'all', 'format', 'quiet',
  'process', 'cwd', 'env', 'tty', 'user', 'additional-gids', 'cap', 'no-new-privs', 'process-label', 'apparmor',
  'stats', 'interval', 'resources', 'ignore-paused', 'help', 'version',
]);

/** Options that take a value (the rest are booleans), to find where positional arguments start. */
const valueOptions = new Set([
  'root', 'log', 'log-format', 'rootless', 'criu', 'bundle', 'b', 'console-socket', 'pid-file', 'preserve-fds', 'format',
  'f', 'process', 'p', 'cwd', 'env', 'e', 'user', 'u', 'additional-gids', 'g', 'cap', 'c', 'process-label', 'apparmor',
  'interval', 'resources', 'r', 'cgroup',
]);

/** Commands whose arguments after the container id belong to something else (exec: the command; ps: ps(1)). */
const passThrough = new Set(['exec', 'ps']);

/**
 * runc's parser (urfave/cli) accepts "-flag" for "--flag", and stops at the
 * first non-option argument; yargs does neither. So: "-flag" becomes
 * "--flag", and for exec and ps a "--" goes right after the container id, so
 * that `exec c1 sh -c 'x'` gives `-c` to the command, not to us.
 */
export function normalizeArgv(args: string[]): string[] {
  const out: string[] = [];
  let command: string | undefined;
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const long = /^-([a-z][a-z-]+)(=.*)?$/.exec(a);
    const opt = long && longOptions.has(long[1]) ? `-${a}` : a;
    out.push(opt);
    const name = /^--?([a-z][a-z-]*)(=.*)?$/.exec(opt);
    if (name) {
      if (!name[2] && valueOptions.has(name[1]) && i + 1 < args.length) {
        const v = args[++i];
        // yargs takes a value that starts with "-" for an option: `--resources -` (go-runc's form) becomes `--resources=-`
        if (v.startsWith('-') && opt.startsWith('--')) out[out.length - 1] = `${opt}=${v}`;
        else out.push(v);
      }
      continue;
    }
    if (command === undefined) {
      command = a;
      continue;
    }
    if (passThrough.has(command) && ++positionals === 1) {
      const rest = args.slice(i + 1);
      if (rest.length > 0) out.push(...(rest[0] === '--' ? rest : ['--', ...rest]));
      break;
    }
  }
  return out;
}

let commandName = '';

/** The working directory, or "/" when it was removed under us (a shim's deleted bundle): runc does not care either. */
function safeCwd(): string {
  try {
    return process.cwd();
  } catch {
    return '/';
  }
}

export async function main(args: string[]): Promise<number> {
  trace('timing', 'main');
  const parser = yargs(normalizeArgv(args), safeCwd())
    .scriptName('berth-runtime')
    // runc's flags include --no-pivot, --no-new-keyring, ...: names, not negations.
    .parserConfiguration({ 'boolean-negation': false })
    .usage('berth-runtime [global options] command [command options] [arguments...]')
    .option('root', { type: 'string', default: DEFAULT_ROOT, describe: 'root directory for storage of container state (this should be located in tmpfs)' })
    .option('log', { type: 'string', describe: 'set the log file to write berth-runtime logs to (default is stderr)' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'set the log format' })
    .option('debug', { type: 'boolean', default: false, describe: 'enable debug logging' })
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'enable systemd cgroup support' })
    .option('rootless', { type: 'string', describe: 'ignore cgroup permission errors (true, false, or auto)' })
    .option('criu', { type: 'string', hidden: true })
    .middleware((argv) => {
      commandName = String(argv._[0] ?? '');
      configureLogging({ file: argv.log, format: argv['log-format'], debug: argv.debug });
    })
    .command(specCommand)
    .command(createCommand)
    .command(startCommand)
    .command(runCommand)
    .command(stateCommand)
    .command(killCommand)
    .command(deleteCommand)
    .command(listCommand)
    .command(featuresCommand)
    .command(execCommand)
    .command(pauseCommand)
    .command(resumeCommand)
    .command(psCommand)
    .command(eventsCommand)
    .command(updateCommand)
    .demandCommand(1, 'a command is required')
    .strict()
    .version(`berth-runtime version ${VERSION}\nspec: 1.0.2-dev`)
    .help()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await parser.parseAsync();
    trace('timing', 'done');
    await closeLogging();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    reportError(err);
    await closeLogging();
    return 1;
  }
}

class UsageError extends Error {}

function reportError(err: unknown): void {
  const base = err instanceof Error ? err.message : String(err);
  // runc's wording: "runc create failed: …", "runc run failed: …", "exec failed: …".
  const msg =
    commandName === 'exec' ? `exec failed: ${base}` : (commandName === 'create' || commandName === 'run') && err instanceof BerthError ? `berth-runtime ${commandName} failed: ${base}` : base;
  if (err instanceof UsageError) {
    process.stderr.write(`Incorrect Usage: ${msg}\n`);
    return;
  }
  if (!(err instanceof BerthError)) log.debug('unexpected error', { stack: (err as Error)?.stack });
  const opts = logOptions();
  if (opts.file) {
    log.error(msg);
    process.stderr.write(`${msg}\n`);
  } else {
    process.stderr.write(formatText('error', msg, {}, new Date()) + '\n');
  }
}

/** Entry for the plain bundle (the snapshot entry calls main() itself). */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
      process.exit(1);
    },
  );
}

if (typeof module !== 'undefined' && require.main === module) run();
