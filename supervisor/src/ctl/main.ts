/**
 * berthctl: the command line for people over berthd's (or containerd's) gRPC API.
 *
 * The command tree is open: snapshots, tasks and run register beside these
 * (add their CommandModule to `commands` below).
 */
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { kindOf } from '../../../proto/src/errdefs';
import { VERSION } from '../services/version/service';
import { containersCommand } from './containers';
import { contentCommand } from './content';
import type { GlobalArgs } from './context';
import { eventsCommand } from './events';
import { gcCommand } from './gc';
import { imagesCommand } from './images';
import { leasesCommand } from './leases';
import { namespacesCommand } from './namespaces';
import { snapshotsCommand } from './snapshots';
import { runCommand } from './run';
import { tasksCommand } from './tasks';
import { versionCommand } from './version';

export const commands: CommandModule<GlobalArgs, never>[] = [
  imagesCommand,
  contentCommand,
  namespacesCommand,
  leasesCommand,
  containersCommand,
  snapshotsCommand,
  tasksCommand,
  runCommand,
  eventsCommand,
  gcCommand,
  versionCommand,
] as never;

let y = yargs(hideBin(process.argv))
  .scriptName('berthctl')
  .usage('$0 [global options] <command> ...')
  .option('address', { alias: 'a', type: 'string', default: process.env.BERTH_ADDRESS ?? '/run/berth/berthd.sock', describe: 'address of berthd\'s gRPC socket', global: true })
  .option('namespace', { alias: 'n', type: 'string', default: process.env.CONTAINERD_NAMESPACE ?? 'default', describe: 'namespace to use', global: true })
  .option('format', { type: 'string', choices: ['table', 'json'], default: 'table', describe: 'output format', global: true });
for (const c of commands) y = y.command(c as never);

y.demandCommand(1, 'a command is required')
  .strict()
  .version(VERSION)
  .help()
  .fail((msg, err, yy) => {
    if (err) {
      const kind = kindOf(err);
      process.stderr.write(`berthctl: ${err.message}${kind && !err.message.includes(kind) ? ` (${kind})` : ''}\n`);
      process.exit(1);
    }
    yy.showHelp();
    process.stderr.write(`\n${msg}\n`);
    process.exit(1);
  })
  .parseAsync()
  .then(() => process.exit(0));
