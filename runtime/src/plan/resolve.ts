/**
 * Resolving a path inside the container to a path on the host without ever
 * leaving the rootfs (securejoin's idea, over a table of the mounts planned
 * so far).
 *
 * The mounts are made later, inside the container's mount namespace, so the
 * host's view of the rootfs is only right where no planned mount covers the
 * path. So: a path under a planned bind mount is looked up in the bind's
 * source; a path under a fresh filesystem (tmpfs, proc, ...) holds nothing but
 * what the plan creates there, i.e. no symlinks; everything else is looked up
 * in the rootfs. Symlinks are followed with the container's "/" as root, so
 * ".." and absolute targets can never climb out.
 *
 * The native side re-checks each mount target at mount time (F_CHECK_TARGET),
 * which catches a symlink swapped in after planning.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';

export interface PlannedMount {
  /** Resolved destination inside the container ("/dev/pts"). */
  destination: string;
  /** For bind mounts: the host source; undefined for a fresh filesystem. */
  bindSource?: string;
}

const MAX_SYMLINKS = 255;

/** Cleans a container path lexically: absolute, no ".", "..", or repeated slashes. */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export class RootfsResolver {
  private readonly mounts: PlannedMount[] = [];

  constructor(readonly rootfs: string) {}

  addMount(m: PlannedMount): void {
    this.mounts.push(m);
  }

  /** The host path that a resolved container path has during setup. */
  hostPath(containerPath: string): string {
    return containerPath === '/' ? this.rootfs : this.rootfs + containerPath;
  }

  /**
   * Where a container path really is, as a clean container path with every
   * symlink resolved inside the rootfs. Missing trailing components are kept
   * as they are (the plan creates them).
   */
  resolve(containerPath: string): string {
    let pending = containerPath.split('/');
    let current: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (current.length === 0 && links > 0) {
          // A symlink that climbs above the container's root: an escape attempt. The kernel
          // would keep it inside after pivot_root, but a mount made before pivot_root would not.
          throw new ConfigError(`${containerPath}: a symlink in the rootfs points above the root (possible escape)`);
        }
        current.pop();
        continue;
      }
      const candidate = '/' + [...current, part].join('/');
      const target = this.readlink(candidate);
      if (target === undefined) {
        current.push(part);
        continue;
      }
      if (++links > MAX_SYMLINKS) throw new ConfigError(`too many levels of symbolic links resolving ${containerPath} in the rootfs`);
      if (target.startsWith('/')) current = [];
      pending = [...target.split('/'), ...pending];
    }
    return '/' + current.join('/');
  }

  /** The symlink target at a container path, or undefined when it is not a symlink (or does not exist). */
  private readlink(containerPath: string): string | undefined {
    const host = this.lookupHost(containerPath);
    if (host === undefined) return undefined;
    try {
      const st = fs.lstatSync(host);
      return st.isSymbolicLink() ? fs.readlinkSync(host) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Host location of a container path during planning, or undefined under a fresh filesystem. */
  lookupHost(containerPath: string): string | undefined {
    let best: PlannedMount | undefined;
    for (const m of this.mounts) {
      if (containerPath === m.destination || containerPath.startsWith(m.destination === '/' ? '/' : m.destination + '/')) {
        if (!best || m.destination.length >= best.destination.length) best = m;
      }
    }
    if (!best) return this.hostPath(containerPath);
    if (best.bindSource === undefined) return undefined;
    const rest = containerPath.slice(best.destination.length);
    return best.bindSource + rest;
  }

  /** What kind of file a container path is during planning: 'dir', 'file', 'missing' or 'unknown'. */
  kind(containerPath: string): 'dir' | 'file' | 'missing' | 'unknown' {
    const host = this.lookupHost(containerPath);
    if (host === undefined) return 'unknown';
    try {
      return fs.statSync(host).isDirectory() ? 'dir' : 'file';
    } catch {
      return 'missing';
    }
  }
}

export function joinInside(base: string, rel: string): string {
  return cleanPath(path.posix.join(base, rel));
}
