/**
 * Removing cgroup directories (runc's RemovePath / RemovePaths): rmdir
 * bottom-up; while the kernel still reports a cgroup busy (its last task has
 * not quite gone), retry five times with a doubling delay from 10 ms.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../proto/src/errdefs';
import { CgroupFileError, errnoOf, exists, sleepSync } from './files';

function rmdir(p: string): void {
  try {
    fs.rmdirSync(p);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw new CgroupFileError('rmdir', p, err);
  }
}

/** Removes dir and the cgroups below it, children first. */
export function removePath(dir: string): void {
  try {
    rmdir(dir);
    return;
  } catch {
    // fall through: remove the sub-cgroups first
  }
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return;
    throw new CgroupFileError('read directory', dir, err);
  }
  for (const e of entries) if (e.isDirectory()) removePath(path.join(dir, e.name));
  rmdir(dir);
}

/** Removes every path, retrying while busy; throws FailedPrecondition naming what is left. */
export function removePaths(paths: Iterable<string>): void {
  let left = [...new Set(paths)];
  let delay = 10;
  let lastError: unknown;
  for (let i = 0; i < 5 && left.length > 0; i++) {
    if (i > 0) {
      sleepSync(delay);
      delay *= 2;
    }
    for (const p of left) {
      try {
        removePath(p);
      } catch (err) {
        lastError = err;
      }
    }
    left = left.filter((p) => exists(p));
  }
  if (left.length > 0) {
    throw new FailedPreconditionError(`failed to remove cgroup paths ${left.map((p) => `\`${p}\``).join(', ')}: ${(lastError as Error)?.message ?? 'still present'}`, {
      cause: lastError,
    });
  }
}
