/**
 * v1 freezer (opencontainers/cgroups fs/freezer.go). Writing FROZEN can leave
 * the cgroup FREEZING for a while, or forever if a task sits in a vfork or an
 * uninterruptible sleep: runc retries, and thaws and tries again every 50
 * rounds, giving up after 1000.
 */
import { FailedPreconditionError, InternalError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { readCgroupFile, readCgroupFileIfExists, sleepSync, writeCgroupFile } from '../files';
import type { FreezerState } from '../manager';

export const freezer: Controller = { name: 'freezer' };

export function freezeV1(dir: string): void {
  try {
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        // Let a task stuck in vfork or the like get out, then try again.
        writeCgroupFile(dir, 'freezer.state', 'THAWED');
        sleepSync(10);
      }
      writeCgroupFile(dir, 'freezer.state', 'FROZEN');
      if (i % 25 === 24) sleepSync(0.01);
      const state = readCgroupFile(dir, 'freezer.state').trim();
      if (state === 'FREEZING') continue;
      if (state === 'FROZEN') return;
      throw new InternalError(`unexpected state ${state} while freezing \`${dir}\``);
    }
    throw new FailedPreconditionError(`unable to freeze \`${dir}\``);
  } catch (err) {
    try {
      writeCgroupFile(dir, 'freezer.state', 'THAWED');
    } catch {
      // the original error matters more
    }
    throw err;
  }
}

export function thawV1(dir: string): void {
  writeCgroupFile(dir, 'freezer.state', 'THAWED');
}

/** FROZEN only when this cgroup itself was frozen (freezer.self_freezing), not just a parent. */
export function freezerStateV1(dir: string): FreezerState {
  for (;;) {
    const state = readCgroupFileIfExists(dir, 'freezer.state')?.trim();
    switch (state) {
      case undefined:
        return 'unknown';
      case 'THAWED':
        return 'thawed';
      case 'FROZEN': {
        const self = readCgroupFileIfExists(dir, 'freezer.self_freezing')?.trim();
        return self === '0' ? 'thawed' : 'frozen';
      }
      case 'FREEZING':
        sleepSync(1);
        continue;
      default:
        throw new InternalError(`unknown freezer.state ${JSON.stringify(state)} in \`${dir}\``);
    }
  }
}
