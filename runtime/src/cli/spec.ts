import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { AlreadyExistsError } from '../../../proto/src/errdefs';
import { defaultSpec, toRootless } from '../spec/default';
import type { GlobalArgs } from './global';

interface Args extends GlobalArgs {
  bundle: string;
  rootless: string | undefined;
}

export const specCommand: CommandModule<GlobalArgs, Args> = {
  command: 'spec',
  describe: 'create a new specification file',
  builder: (y) =>
    y
      .option('bundle', { alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory' })
      .option('rootless', { type: 'boolean', default: false, describe: 'generate a configuration for a rootless container' }) as never,
  handler: (argv) => {
    const file = path.join(argv.bundle || '.', 'config.json');
    if (fs.existsSync(file)) throw new AlreadyExistsError('File config.json exists. Remove it first');
    let spec = defaultSpec();
    if ((argv.rootless as unknown) === true || argv.rootless === 'true') spec = toRootless(spec, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    fs.writeFileSync(file, JSON.stringify(spec, null, '\t'), { mode: 0o666 });
  },
};
