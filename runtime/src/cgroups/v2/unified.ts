/**
 * linux.resources.unified: cgroup v2 files written as given, after every
 * other resource (so they win). Checked first: a plain file name of the form
 * CONTROLLER.PARAMETER, for a controller this cgroup has, naming a file that
 * exists (runc only explains a failure after the write).
 */
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { exists } from '../files';
import { v2Controllers } from '../detect';

export const unified: Controller = {
  name: 'unified',
  requested: (r) => (r.unified && Object.keys(r.unified).length ? 'linux.resources.unified' : undefined),
  validate({ dir }, r) {
    const controllers = v2Controllers(dir);
    for (const [k, v] of Object.entries(r.unified ?? {})) {
      if (k.includes('/') || k === '.' || k === '..') throw new InvalidArgumentError(`unified resource ${JSON.stringify(k)} must be a file name (no slashes)`);
      if (typeof v !== 'string') throw new InvalidArgumentError(`unified resource ${JSON.stringify(k)}: the value must be a string`);
      const dot = k.indexOf('.');
      if (dot <= 0 || dot === k.length - 1) throw new InvalidArgumentError(`unified resource ${JSON.stringify(k)} must be in the form CONTROLLER.PARAMETER`);
      const c = k.slice(0, dot);
      if (c !== 'cgroup' && !controllers.has(c)) {
        throw new FailedPreconditionError(`unified resource ${JSON.stringify(k)} can't be set: controller ${JSON.stringify(c)} not available (cgroup.controllers: ${[...controllers].join(' ') || 'none'})`);
      }
      if (!exists(path.join(dir, k))) throw new FailedPreconditionError(`unified resource ${JSON.stringify(k)} can't be set: no such file in \`${dir}\``);
    }
  },
  set({ dir }, r, log) {
    for (const [k, v] of Object.entries(r.unified ?? {})) log.write(dir, k, v);
  },
};
