/**
 * Device cgroup rules: the OCI linux.resources.devices entries turned into
 * runc's devices.Rule, plus runc 1.1's default allow-list
 * (libcontainer/specconv/spec_linux.go AllowedDevices), appended after the
 * config's own rules exactly as CreateCgroupConfig does.
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import type { LinuxDevice, LinuxDeviceCgroup } from '../../spec/types';

export const WILDCARD = -1;

/** 'a' (all), 'b' (block), 'c' (char). */
export type DeviceType = 'a' | 'b' | 'c';

export interface DeviceRule {
  type: DeviceType;
  /** -1 is the wildcard "*". */
  major: number;
  minor: number;
  /** Any of "rwm", in that order once normalised. */
  permissions: string;
  allow: boolean;
}

/** "c 1:3 rwm": the devices.allow/devices.deny and devices.list syntax. */
export function ruleString(r: Pick<DeviceRule, 'type' | 'major' | 'minor' | 'permissions'>): string {
  const n = (v: number): string => (v === WILDCARD ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.permissions}`;
}

const rule = (type: DeviceType, major: number, minor: number, permissions: string, path?: string): DeviceRule & { path?: string } => ({
  type,
  major,
  minor,
  permissions,
  allow: true,
  path,
});

/**
 * runc 1.1's AllowedDevices, in its order: mknod of any char and block device,
 * null, random, full, tty, zero, urandom (those six by path), /dev/pts/*,
 * /dev/ptmx and /dev/net/tun. (runc 1.1 has no fuse rule.)
 */
export const DEFAULT_ALLOWED_DEVICES: ReadonlyArray<DeviceRule & { path?: string }> = [
  rule('c', WILDCARD, WILDCARD, 'm'),
  rule('b', WILDCARD, WILDCARD, 'm'),
  rule('c', 1, 3, 'rwm', '/dev/null'),
  rule('c', 1, 8, 'rwm', '/dev/random'),
  rule('c', 1, 7, 'rwm', '/dev/full'),
  rule('c', 5, 0, 'rwm', '/dev/tty'),
  rule('c', 1, 5, 'rwm', '/dev/zero'),
  rule('c', 1, 9, 'rwm', '/dev/urandom'),
  rule('c', 136, WILDCARD, 'rwm'), // /dev/pts/*
  rule('c', 5, 2, 'rwm'), // /dev/ptmx
  rule('c', 10, 200, 'rwm'), // /dev/net/tun
];

function checkNumber(v: number | null | undefined, what: string, index: number): number {
  if (v === undefined || v === null) return WILDCARD;
  if (!Number.isInteger(v) || v < WILDCARD || v > 0xffff_ffff) {
    throw new InvalidArgumentError(`linux.resources.devices[${index}].${what}: ${v} is not a device number`);
  }
  return v;
}

/** Normalises "rwm" in any order; refuses other letters and the empty string (runc: "cannot be empty"). */
export function normalisePermissions(access: string | undefined, where: string): string {
  if (!access) throw new InvalidArgumentError(`${where}: device access cannot be empty`);
  for (const ch of access) {
    if (!'rwm'.includes(ch)) throw new InvalidArgumentError(`${where}: unknown device access ${JSON.stringify(ch)} in ${JSON.stringify(access)}`);
  }
  return ['r', 'w', 'm'].filter((c) => access.includes(c)).join('');
}

/** One OCI device cgroup entry → a rule (type default "a", numbers default wildcard). */
export function ruleFromSpec(d: LinuxDeviceCgroup, index: number): DeviceRule {
  const type = d.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') {
    throw new InvalidArgumentError(`linux.resources.devices[${index}]: invalid cgroup device type ${JSON.stringify(type)}`);
  }
  return {
    type,
    major: checkNumber(d.major, 'major', index),
    minor: checkNumber(d.minor, 'minor', index),
    permissions: normalisePermissions(d.access, `linux.resources.devices[${index}]`),
    allow: d.allow === true,
  };
}

/**
 * The full rule list for a container: its own rules, then the defaults whose
 * path is not also in linux.devices (the config's device takes priority).
 */
export function containerDeviceRules(devices: LinuxDeviceCgroup[], linuxDevices: Pick<LinuxDevice, 'path'>[] = []): DeviceRule[] {
  const own = devices.map(ruleFromSpec);
  const listed = new Set(linuxDevices.map((d) => d.path));
  const defaults = DEFAULT_ALLOWED_DEVICES.filter((d) => d.path === undefined || !listed.has(d.path)).map(
    ({ type, major, minor, permissions, allow }): DeviceRule => ({ type, major, minor, permissions, allow }),
  );
  return [...own, ...defaults];
}
