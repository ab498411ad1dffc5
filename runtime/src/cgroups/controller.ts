/**
 * What one controller file (v1/<name>.ts, v2/<name>.ts) provides, as
 * opencontainers/cgroups' fs subsystem interface, split so that set() can
 * check everything before it writes anything:
 *
 *   requested  what the resources ask of this controller, in the user's words
 *              ("memory limits"), or undefined: a missing controller is
 *              refused only when it is asked for
 *   validate   refuses malformed values and what this cgroup cannot do,
 *              reading files only
 *   create     set-up before any process joins (v1 cpuset, realtime cpu)
 *   set        the writes, each through the WriteLog so they can be undone
 *   stats      fills its part of the stats
 */
import type { LinuxDevice, LinuxResources } from '../spec/types';
import type { CgroupStats } from './stats';
import type { WriteLog } from './write-log';

export interface ControllerContext {
  /** This controller's cgroup directory. */
  dir: string;
  /** linux.devices (their paths drop runc's default device rules). */
  linuxDevices?: Pick<LinuxDevice, 'path'>[];
  warn: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface Controller {
  /** The v1 subsystem or v2 controller name ("cpu", "io", "name=systemd"). */
  readonly name: string;
  requested?(r: LinuxResources): string | undefined;
  validate?(ctx: ControllerContext, r: LinuxResources): void;
  create?(ctx: ControllerContext, r: LinuxResources): void;
  set?(ctx: ControllerContext, r: LinuxResources, log: WriteLog): void;
  stats?(dir: string, s: CgroupStats): void;
}
