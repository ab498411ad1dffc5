/**
 * Creating a v2 cgroup (opencontainers/cgroups fs2/create.go
 * CreateCgroupPath): make each missing directory from the mount down, and
 * enable in every ancestor's cgroup.subtree_control the controllers the root
 * offers (all at once, or one by one if that fails), so the leaf gets them.
 * A "domain invalid" ancestor becomes threaded when no domain controller is
 * needed; domain controllers in a threaded subtree are refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../../proto/src/errdefs';
import { CgroupFileError, errnoOf, readCgroupFileIfExists, writeCgroupFile } from '../files';
import { v2Controllers } from '../detect';
import type { LinuxResources } from '../../spec/types';
import { blockIORequested } from '../v1/blkio';

function needsDomainControllers(r: LinuxResources): boolean {
  const m = r.memory;
  const c = r.cpu;
  return !!(m && (m.limit || m.reservation || m.swap)) || blockIORequested(r.blockIO) || !!(c && (c.shares || c.quota || c.period)) || !!r.hugepageLimits?.length;
}

/** Creates dir below mount; returns the directories it made (to remove if a later step fails). */
export function createCgroupPath(mount: string, dir: string, r: LinuxResources): string[] {
  const rel = path.posix.relative(mount, dir);
  if (rel.startsWith('..') || path.posix.isAbsolute(rel)) throw new InvalidArgumentError(`invalid cgroup path \`${dir}\`: not below \`${mount}\``);
  const elements = rel === '' ? [] : rel.split('/');
  const ctrs = [...v2Controllers(mount)];
  const all = ctrs.map((c) => '+' + c).join(' ');
  const made: string[] = [];
  try {
    let current = mount;
    for (let i = -1; i < elements.length; i++) {
      if (i >= 0) {
        current = path.posix.join(current, elements[i]);
        try {
          fs.mkdirSync(current, 0o755);
          made.push(current);
        } catch (err) {
          if (errnoOf(err) !== 'EEXIST') throw new CgroupFileError('mkdir', current, err);
        }
        const type = readCgroupFileIfExists(current, 'cgroup.type')?.trim();
        if (type === 'domain invalid') {
          if (needsDomainControllers(r)) throw new FailedPreconditionError(`cannot enter cgroupv2 \`${current}\` with domain controllers -- it is in an invalid state`);
          writeCgroupFile(current, 'cgroup.type', 'threaded');
        } else if ((type === 'domain threaded' || type === 'threaded') && needsDomainControllers(r)) {
          throw new FailedPreconditionError(`cannot enter cgroupv2 \`${current}\` with domain controllers -- it is in ${type} mode`);
        }
      }
      if (i < elements.length - 1 && all !== '') {
        try {
          writeCgroupFile(current, 'cgroup.subtree_control', all);
        } catch {
          // Some controller cannot be enabled here: enable what can be.
          for (const c of ctrs) {
            try {
              writeCgroupFile(current, 'cgroup.subtree_control', '+' + c);
            } catch {
              // not this one
            }
          }
        }
      }
    }
  } catch (err) {
    for (const d of made.reverse()) {
      try {
        fs.rmdirSync(d);
      } catch {
        // leave it
      }
    }
    throw err;
  }
  return made;
}
