import * as fs from 'node:fs';
import { NotImplementedError } from '../../../proto/src/errdefs';
import type { GlobalArgs } from './global';

/** runc's loadFactory check: --systemd-cgroup needs a running systemd. */
export function checkSystemdCgroup(argv: GlobalArgs): void {
  if (argv['systemd-cgroup'] && !fs.existsSync('/run/systemd/system')) {
    throw new NotImplementedError('systemd cgroup flag passed, but systemd support for managing cgroups is not available');
  }
}
