/**
 * containerd-shim-berth-v2: the shim for the runtime type io.containerd.berth.v2.
 *
 *   containerd-shim-berth-v2 -namespace NS -id ID -address A [-publish-binary P] start
 *   containerd-shim-berth-v2 -namespace NS -id ID -address A -bundle B delete
 *   (no action: the long-lived ttrpc server, started by `start`)
 */
import { parseFlags, UsageError } from './flags';

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
    // Each action loads only its own modules (esbuild keeps these lazy).
    case 'start':
      process.stdout.write(await (await import('./start')).start(flags));
      return;
    case 'delete':
      process.stdout.write(await (await import('./delete')).del(flags));
      return;
    case '':
      return (await import('./serve')).serve(flags);
    default:
      throw new UsageError(`unknown action ${JSON.stringify(flags.action)}`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${NAME}: ${err.message}\n`);
  process.exit(1);
});
