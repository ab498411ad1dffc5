import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlreadyExistsError } from '../../../proto/src/errdefs';
import { defaultSeccompProfile } from '../seccomp/default-profile';
import { defaultSpec, toRootless } from '../spec/default';
import type { Args, CommandSpec } from './command';

type SpecArgs = Args & { bundle: string; rootless: boolean; seccomp: boolean };

export const specCommand: CommandSpec<SpecArgs> = {
  name: 'spec',
  describe: 'create a new specification file',
  options: {
    bundle: { alias: 'b', type: 'string', default: '', describe: 'path to the root of the bundle directory' },
    rootless: { type: 'boolean', default: false, describe: 'generate a configuration for a rootless container' },
    // berth's own: start from a seccomp profile equivalent to Docker's default.
    seccomp: { type: 'boolean', default: false, describe: "include the default seccomp profile (like Docker's) for the default capabilities" },
  },
  handler: (argv) => {
    const file = path.join(argv.bundle || '.', 'config.json');
    if (fs.existsSync(file)) throw new AlreadyExistsError('File config.json exists. Remove it first');
    let spec = defaultSpec();
    if (argv.rootless) spec = toRootless(spec, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    if (argv.seccomp) spec.linux!.seccomp = defaultSeccompProfile({ capabilities: spec.process!.capabilities!.bounding ?? [] });
    fs.writeFileSync(file, JSON.stringify(spec, null, '\t'), { mode: 0o666 });
  },
};
