/**
 * linux.cgroupsPath → the container's cgroup directories, as runc 1.1 resolves
 * them for its cgroupfs driver (specconv.CreateCgroupConfig, fs/paths.go,
 * fs2/defaultpath.go):
 *
 *   "/a/b"   absolute: below each hierarchy's mountpoint (v1: per controller;
 *            v2: /sys/fs/cgroup/a/b).
 *   "a/b"    relative: v1 below the runtime's own cgroup of each controller;
 *            v2 below the *parent* of the runtime's own cgroup (the own one
 *            usually has processes, so it cannot delegate controllers).
 *   ""       the container id, as a relative path (runc's c.Name = id).
 *
 * runc silently clamps ".." (utils.CleanPath); berth refuses a path that
 * would climb out of the hierarchy, or out of its own cgroup when relative.
 * The systemd driver's "slice:prefix:name" form needs systemd: on a host
 * without it (/run/systemd/system absent) that is a clear error.
 */
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotImplementedError } from '../../../proto/src/errdefs';
import { type CgroupHost, isRunningSystemd, ownV1Dir } from './detect';
import type { CgroupPaths } from './manager';

/** The v1 subsystems runc knows, in its order (fs/fs.go `subsystems`); "" is the hybrid cgroup2 join. */
export const V1_SUBSYSTEMS = [
  'cpuset',
  'devices',
  'memory',
  'cpu',
  'cpuacct',
  'pids',
  'blkio',
  'hugetlb',
  'net_cls',
  'net_prio',
  'perf_event',
  'freezer',
  'rdma',
  'name=systemd',
] as const;

export interface CgroupPathOptions {
  /** linux.cgroupsPath as written in config.json. */
  cgroupsPath?: string;
  /** The container id: the default cgroup name. */
  id: string;
  /** --systemd-cgroup */
  systemd?: boolean;
}

/** A cleaned cgroupsPath: absolute ("/a/b") or relative ("a/b"). */
export interface InnerPath {
  absolute: boolean;
  /** Cleaned, without a leading "/" for relative paths; "/" alone for the root. */
  path: string;
}

const SYSTEMD_FORM = /^[^/:]*:[^/:]*:[^/:]+$/;

function systemdUnsupported(what: string): Error {
  if (!isRunningSystemd()) {
    return new FailedPreconditionError(
      `${what} needs the systemd cgroup driver, which is unsupported: systemd is not running on this host (/run/systemd/system is absent)`,
    );
  }
  return new NotImplementedError(`${what} needs the systemd cgroup driver, which berth does not implement; use the cgroupfs driver`);
}

/**
 * Cleans a cgroupsPath lexically and refuses one that climbs out: "/../x" or,
 * relative, "../x". Empty means "use the container id".
 */
export function cleanCgroupsPath(cgroupsPath: string | undefined, id: string, systemd = false): InnerPath {
  if (systemd) throw systemdUnsupported('--systemd-cgroup');
  const raw = cgroupsPath ?? '';
  if (raw === '') {
    if (id === '' || id.includes('/') || id === '.' || id === '..' || id.includes('\0')) {
      throw new InvalidArgumentError(`invalid container id ${JSON.stringify(id)} for a cgroup name`);
    }
    return { absolute: false, path: id };
  }
  if (raw.includes('\0')) throw new InvalidArgumentError('cgroupsPath must not contain a NUL byte');
  if (SYSTEMD_FORM.test(raw)) throw systemdUnsupported(`cgroupsPath ${JSON.stringify(raw)} (systemd's "slice:prefix:name" form)`);
  const absolute = raw.startsWith('/');
  const stack: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) {
        throw new InvalidArgumentError(
          `cgroupsPath ${JSON.stringify(raw)} escapes the cgroup hierarchy${absolute ? '' : " (relative paths stay below the runtime's own cgroup)"}`,
        );
      }
      stack.pop();
      continue;
    }
    stack.push(part);
  }
  if (!absolute && stack.length === 0) {
    throw new InvalidArgumentError(`cgroupsPath ${JSON.stringify(raw)} names the runtime's own cgroup, not one for the container`);
  }
  return { absolute, path: absolute ? '/' + stack.join('/') : stack.join('/') };
}

/**
 * The v1 (and hybrid) directories: one per mounted subsystem, as runc's
 * initPaths. A subsystem that is not mounted is left out; a missing devices
 * controller is fatal (runc: "for security reasons").
 */
export function v1Paths(host: CgroupHost, inner: InnerPath): CgroupPaths {
  const out: CgroupPaths = {};
  for (const sub of V1_SUBSYSTEMS) {
    const mount = host.v1.get(sub);
    let dir: string | undefined;
    if (mount) dir = inner.absolute ? path.posix.join(mount.mountpoint, inner.path) : joinOwn(ownV1Dir(host, sub), inner.path);
    if (dir === undefined) {
      if (sub === 'devices') throw new FailedPreconditionError('the devices cgroup controller is not mounted on this host: refusing to run a container without device isolation');
      continue;
    }
    out[sub] = dir;
  }
  if (host.mode === 'hybrid' && host.unifiedMountpoint) {
    // runc joins the cgroup2 hierarchy too; for a relative path it uses the
    // unified mountpoint itself as the base (v1_utils.go GetOwnCgroupPath("")).
    out[''] = path.posix.join(host.unifiedMountpoint, inner.path);
  }
  return out;
}

function joinOwn(own: string | undefined, inner: string): string | undefined {
  return own === undefined ? undefined : path.posix.join(own, inner);
}

/** The v2 directory (fs2 defaultDirPath). */
export function v2Path(host: CgroupHost, inner: InnerPath): string {
  const mount = host.unifiedMountpoint ?? '/sys/fs/cgroup';
  if (inner.absolute) return path.posix.join(mount, inner.path);
  const own = host.own[''];
  if (own === undefined) throw new FailedPreconditionError('cannot find the runtime\'s own cgroup2 path in /proc/self/cgroup');
  return path.posix.join(mount, path.posix.dirname(own), inner.path);
}

/** The container's cgroup paths on this host, as state.json keeps them. */
export function resolveCgroupPaths(host: CgroupHost, opts: CgroupPathOptions): CgroupPaths {
  const inner = cleanCgroupsPath(opts.cgroupsPath, opts.id, opts.systemd);
  return host.mode === 'v2' ? { '': v2Path(host, inner) } : v1Paths(host, inner);
}
