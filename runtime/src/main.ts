/**
 * berth-runtime: a runc-compatible OCI runtime.
 *
 * The command line mirrors runc's (commands, flags, outputs, exit codes), so
 * that containerd, Docker, Podman and conmon can call it in place of runc.
 * Errors go to stderr as one line (logrus text, or just the message when
 * --log is given, where the entry goes instead) and exit with status 1.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type yargsType from 'yargs';
import { BerthError } from '../../proto/src/errdefs';
import { createCommand } from './cli/create';
import { deleteCommand } from './cli/delete';
import { eventsCommand } from './cli/events';
import { execCommand } from './cli/exec';
import { featuresCommand } from './cli/features';
import { fastParse, toYargs, type CommandSpec, type OptionSpec } from './cli/command';
import { defaultRoot } from './cli/global';
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
    let opt = long && longOptions.has(long[1]) ? `-${a}` : a;
    // The global --rootless=true|false|auto and spec's --rootless flag share a name; yargs
    // cannot have both, so the global one is renamed before the command.
    if (command === undefined && /^--rootless(=|$)/.test(opt)) opt = opt.replace('--rootless', '--global-rootless');
    out.push(opt);
    const name = /^--?([a-z][a-z-]*)(=.*)?$/.exec(opt);
    if (name) {
      if (!name[2] && valueOptions.has(name[1]) && !(name[1] === 'rootless' && command !== undefined) && i + 1 < args.length) {
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
  const argv = normalizeArgv(args);
  try {
    // The plain command lines of runtime callers skip yargs; anything else gets it.
    const fast = fastParse(commands, globalOptions(), argv);
    if (fast) {
      begin(fast.argv as never);
      await fast.spec.handler(fast.argv as never);
    } else {
      await parser(argv).parseAsync();
    }
    trace('timing', 'done');
    await closeLogging();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    reportError(err);
    await closeLogging();
    return 1;
  }
}

/** Every command, as data (cli/command.ts). */
const commands: CommandSpec<never>[] = [
  specCommand,
  createCommand,
  startCommand,
  runCommand,
  stateCommand,
  killCommand,
  deleteCommand,
  listCommand,
  featuresCommand,
  execCommand,
  pauseCommand,
  resumeCommand,
  psCommand,
  eventsCommand,
  updateCommand,
] as CommandSpec<never>[];

/** runc's global options (the defaults are read at run time, never in the snapshot). */
function globalOptions(): Record<string, OptionSpec> {
  return {
    root: { type: 'string', default: defaultRoot(), describe: 'root directory for storage of container state (this should be located in tmpfs)' },
    log: { type: 'string', describe: 'set the log file to write berth-runtime logs to (default is stderr)' },
    'log-format': { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'set the log format' },
    debug: { type: 'boolean', default: false, describe: 'enable debug logging' },
    'systemd-cgroup': { type: 'boolean', default: false, describe: 'enable systemd cgroup support' },
    'global-rootless': { type: 'string', hidden: true, describe: "runc's global --rootless: ignore cgroup permission errors (true, false, or auto)" },
    criu: { type: 'string', hidden: true, describe: 'ignored: berth-runtime has no checkpoint/restore' },
  };
}

/** What every command does first, whichever parser read its arguments. */
function begin(argv: { _: (string | number)[]; log?: string; 'log-format': string; debug: boolean }): void {
  commandName = String(argv._[0] ?? '');
  configureLogging({ file: argv.log, format: argv['log-format'] === 'json' ? 'json' : 'text', debug: argv.debug });
}

/**
 * yargs, loaded only when the fast path declines (help, usage errors, unusual
 * forms): kept out of the bundle and its start-up snapshot, which are then
 * smaller and quicker to load for every other run.
 */
function loadYargs(): typeof yargsType {
  return createRequire(path.join(__dirname, 'main.js'))('yargs') as typeof yargsType;
}

function parser(argv: string[]) {
  let y = loadYargs()(argv, safeCwd())
    .scriptName('berth-runtime')
    // runc's flags include --no-pivot, --no-new-keyring, ...: names, not negations.
    .parserConfiguration({ 'boolean-negation': false })
    .usage('berth-runtime [global options] command [command options] [arguments...]');
  for (const [name, o] of Object.entries(globalOptions())) {
    y = y.option(name, { type: o.type === 'boolean' ? 'boolean' : 'string', describe: o.describe, default: o.default, hidden: o.hidden, choices: o.choices });
  }
  y = y.middleware((a) => begin(a as never));
  for (const c of commands) y = y.command(toYargs(c) as never);
  return y
    .demandCommand(1, 'a command is required')
    .strict()
    .version(`berth-runtime version ${VERSION}\nspec: 1.0.2-dev`)
    .help()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
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
