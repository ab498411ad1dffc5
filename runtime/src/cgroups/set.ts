/**
 * The shape of every set(), v1 and v2: first check that each thing asked for
 * has its controller, then let every controller validate (reading files
 * only), and only then write, through one WriteLog; if the kernel refuses a
 * write, undo the earlier ones and report both.
 */
import * as path from 'node:path';
import { BerthError, FailedPreconditionError } from '../../../proto/src/errdefs';
import type { Controller, ControllerContext } from './controller';
import { exists } from './files';
import { WriteLog } from './write-log';
import type { LinuxResources } from '../spec/types';

export interface SetStep {
  controller: Controller;
  /** undefined when this host has no such controller for the container. */
  ctx?: ControllerContext;
  /** Why it is missing, for the error ("the hugetlb cgroup controller is not mounted on this host"). */
  missing: string;
}

export function applyValidated(steps: SetStep[], r: LinuxResources): void {
  const active: Array<{ controller: Controller; ctx: ControllerContext }> = [];
  for (const s of steps) {
    const what = s.controller.requested?.(r);
    if (!what) continue;
    if (!s.ctx) throw new FailedPreconditionError(`cannot set ${what}: ${s.missing}`);
    if (!exists(path.join(s.ctx.dir))) {
      throw new FailedPreconditionError(`cannot set ${what}: cgroup \`${s.ctx.dir}\` does not exist (create it first)`);
    }
    active.push({ controller: s.controller, ctx: s.ctx });
  }
  for (const { controller, ctx } of active) controller.validate?.(ctx, r);

  const log = new WriteLog();
  try {
    for (const { controller, ctx } of active) controller.set?.(ctx, r, log);
  } catch (err) {
    const failed = log.rollback();
    if (failed.length === 0) throw err;
    const msg = `${(err as Error).message}; and the rollback of earlier writes failed: ${failed.join('; ')}`;
    throw err instanceof BerthError ? new BerthError(err.kind, msg, { cause: err }) : new Error(msg, { cause: err });
  }
}
