/**
 * Building a manager (opencontainers/cgroups manager/new.go): from a config
 * at create time, or from the paths kept in state.json for every later
 * command (delete, pause, resume, ps, events, update).
 */
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '../../../proto/src/errdefs';
import { detectHost, detectMode, type CgroupHost } from './detect';
import type { CgroupConfig, CgroupManager, CgroupPaths } from './manager';
import { resolveCgroupPaths } from './paths';
import { V1Manager } from './v1/manager';
import { V2Manager } from './v2/manager';

/** A manager for a new container; resolves linux.cgroupsPath (may throw InvalidArgument/FailedPrecondition). */
export function newCgroupManager(config: CgroupConfig, host: CgroupHost = detectHost()): CgroupManager {
  const paths = resolveCgroupPaths(host, { cgroupsPath: config.cgroupsPath, id: config.id, systemd: config.systemd });
  const { id: _id, ...rest } = config;
  if (host.mode === 'v2') return new V2Manager(paths[''], rest, host.unifiedMountpoint);
  return new V1Manager(host.mode, paths, rest);
}

/**
 * A manager for an existing container from its stored paths. The host's mode
 * must match the paths' shape (a single "" key is v2).
 */
export function loadCgroupManager(paths: CgroupPaths, config: Omit<CgroupConfig, 'id'> = {}): CgroupManager {
  for (const [k, p] of Object.entries(paths)) {
    if (!path.isAbsolute(p) || path.normalize(p) !== p) throw new InvalidArgumentError(`invalid cgroup path for ${JSON.stringify(k)}: ${JSON.stringify(p)}`);
  }
  const mode = detectMode();
  const keys = Object.keys(paths);
  if (mode === 'v2') {
    if (keys.length !== 1 || keys[0] !== '') throw new FailedPreconditionError(`cgroup paths ${JSON.stringify(paths)} are not of a cgroup v2 container, but this host is cgroup v2`);
    return new V2Manager(paths[''], config);
  }
  if (keys.length === 1 && keys[0] === '') throw new FailedPreconditionError(`cgroup paths ${JSON.stringify(paths)} are of a cgroup v2 container, but this host is ${mode}`);
  return new V1Manager(mode, paths, config);
}
