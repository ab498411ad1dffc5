/**
 * /dev inside the container, as runc's createDevices + setupPtmx +
 * setupDevSymlinks: the default devices (specconv's AllowedDevices with a
 * path) plus linux.devices, made with mknod — or bind-mounted from the host
 * inside a user namespace, where mknod is not allowed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import type { LinuxDevice, Mount } from '../spec/types';
import { step, StepFlag, type Step } from '../process/plan';
import { MS } from './mount-options';
import { cleanPath, RootfsResolver } from './resolve';

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** The devices every container gets (runc specconv AllowedDevices that have a path). */
export const defaultDevices: Required<Pick<LinuxDevice, 'path' | 'type' | 'major' | 'minor' | 'fileMode' | 'uid' | 'gid'>>[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
];

/** The kernel's dev_t encoding (makedev). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** runc's needsSetupDev: /dev is set up unless the config binds the host's /dev. */
export function needsSetupDev(mounts: readonly Mount[]): boolean {
  return !mounts.some(
    (m) => cleanPath(m.destination) === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')),
  );
}

/** The config's devices on top of the defaults (a config entry replaces the default with the same path). */
export function containerDevices(config: readonly LinuxDevice[] = []): LinuxDevice[] {
  const byPath = new Map<string, LinuxDevice>();
  for (const d of defaultDevices) byPath.set(d.path, d);
  for (const d of config) byPath.set(cleanPath(d.path), d);
  return [...byPath.values()];
}

export function planDevices(devices: readonly LinuxDevice[], resolver: RootfsResolver, inUserNs: boolean): Step[] {
  const steps: Step[] = [];
  for (const d of devices) {
    const dest = cleanPath(d.path);
    if (dest === '/') throw new ConfigError(`device ${JSON.stringify(d.path)}: mknod over rootfs`);
    const target = resolver.hostPath(resolver.resolve(dest));
    steps.push(step.mkdir(path.dirname(target)));
    if (inUserNs) {
      // runc's bindMountDeviceNode: an empty file with the host's device bound onto it.
      const host = d.path;
      if (!fs.existsSync(host)) throw new ConfigError(`device ${d.path}: cannot bind it from the host inside a user namespace: it does not exist there`);
      steps.push(step.mkfile(target, 0o666));
      steps.push(step.mount(host, target, 'bind', MS.BIND, '', StepFlag.CheckTarget, `bind device ${d.path}`));
      continue;
    }
    let type: number;
    switch (d.type) {
      case 'c':
      case 'u':
        type = S_IFCHR;
        break;
      case 'b':
        type = S_IFBLK;
        break;
      case 'p':
        type = S_IFIFO;
        break;
      default:
        throw new ConfigError(`device ${d.path}: unknown type ${JSON.stringify(d.type)}`);
    }
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) {
      throw new ConfigError(`device ${d.path}: major and minor are required for a ${d.type} device`);
    }
    const mode = type | ((d.fileMode ?? 0o666) & 0o7777);
    steps.push(step.mknod(target, mode, d.type === 'p' ? 0 : makedev(d.major!, d.minor!), d.uid ?? 0, d.gid ?? 0));
  }
  return steps;
}

/** /dev/ptmx → pts/ptmx, /dev/fd, stdin/out/err, and /dev/core where the host has /proc/kcore. */
export function planDevSymlinks(resolver: RootfsResolver): Step[] {
  const links: [string, string][] = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
  ];
  if (fs.existsSync('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  links.push(['pts/ptmx', '/dev/ptmx']);
  return links.map(([target, link]) => step.symlink(target, resolver.hostPath(resolver.resolve(link))));
}
