/**
 * containerd-shim-berth-v2: the shim for the runtime type io.containerd.berth.v2.
 *
 *   containerd-shim-berth-v2 -namespace NS -id ID -address A [-publish-binary P] start
 *   containerd-shim-berth-v2 -namespace NS -id ID -address A -bundle B delete
 *   (no action: the long-lived ttrpc server, started by `start`)
 */
import { del } from './delete';
import { parseFlags, UsageError } from './flags';
import { serve } from './serve';
import { start } from './start';

const NAME = 'containerd-shim-berth-v2';
const VERSION = '0.1.0';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.version) {
    process.stdout.write(`${NAME}:\n  Version:  ${VERSION}\n  Node version: ${process.version}\n\n`);
    return;
  }
  if (!flags.namespace) throw new UsageError('shim namespace cannot be empty');
  switch (flags.action) {
    case 'start':
      process.stdout.write(await start(flags));
      return;
    case 'delete':
      process.stdout.write(await del(flags));
      return;
    case '':
      return serve(flags);
    default:
      throw new UsageError(`unknown action ${JSON.stringify(flags.action)}`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${NAME}: ${err.message}\n`);
  process.exit(1);
});
