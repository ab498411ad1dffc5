/**
 * containerd-shim-berth-v2: the shim for the runtime type io.containerd.berth.v2.
 *
 *   containerd-shim-berth-v2 -namespace NS -id ID -address A [-publish-binary P] start
 *   containerd-shim-berth-v2 -namespace NS -id ID -address A -bundle B delete
 *   (no action: the long-lived ttrpc server, started by `start`)
 *
 * The binary's entry is bin.ts (a plain bundle) or snapshot.ts (the V8
 * start-up snapshot); both call main().
 */
import { parseFlags, UsageError } from './flags';

const NAME = 'containerd-shim-berth-v2';
const VERSION = '0.1.0';

export async function main(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
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

/** Runs main and exits 1 with the message on an error. */
export function run(argv: string[]): void {
  main(argv).catch((err: Error) => {
    process.stderr.write(`${NAME}: ${err.message}\n`);
    process.exit(1);
  });
}
