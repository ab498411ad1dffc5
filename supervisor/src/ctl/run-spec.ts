/**
 * The OCI spec berthctl gives a new container, as containerd's client makes
 * it (oci/spec.go populateDefaultUnixSpec + WithDefaultUnixDevices, and
 * WithImageConfigArgs for an image's Env, Entrypoint, Cmd, WorkingDir and
 * User). Pure data: no calls, so it is tested without a daemon.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../../proto/src/errdefs';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Spec = Record<string, any>;

export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
export const DEFAULT_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** [type, major, minor] of the devices every container may use (WithDefaultUnixDevices). */
const DEVICES: [string, number, number | undefined][] = [
  ['c', 1, 3], ['c', 1, 8], ['c', 1, 7], ['c', 5, 0], ['c', 1, 5], ['c', 1, 9], ['c', 5, 1], ['c', 136, undefined], ['c', 5, 2],
];

export function defaultSpec(namespace: string, id: string): Spec {
  return {
    ociVersion: '1.0.2-dev',
    root: { path: 'rootfs' },
    process: {
      user: { uid: 0, gid: 0 },
      args: [],
      env: [],
      cwd: '/',
      capabilities: { bounding: [...CAPS], permitted: [...CAPS], effective: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    ],
    linux: {
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          ...DEVICES.map(([type, major, minor]) => ({ allow: true, type, major, ...(minor === undefined ? {} : { minor }), access: 'rwm' })),
        ],
      },
      cgroupsPath: path.posix.join('/', namespace, id),
      namespaces: ['pid', 'ipc', 'uts', 'mount', 'network'].map((type) => ({ type })),
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** KEY=VALUE entries of `extra` replace those of `base` with the same key, the rest are appended. */
export function mergeEnv(base: string[], extra: string[]): string[] {
  const out = [...base];
  for (const e of extra) {
    const k = e.split('=')[0];
    const i = out.findIndex((x) => x.split('=')[0] === k);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

export interface ImageConfig {
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
}

/** Env, args, cwd and user from an image's config (WithImageConfigArgs); `args` replace Cmd. */
export function withImageConfig(spec: Spec, cfg: ImageConfig, args: string[], rootfs?: string): void {
  spec.process.env = mergeEnv(cfg.Env?.length ? cfg.Env : DEFAULT_ENV, spec.process.env);
  spec.process.args = [...(cfg.Entrypoint ?? []), ...(args.length ? args : cfg.Cmd ?? [])];
  spec.process.cwd = cfg.WorkingDir || '/';
  if (cfg.User) withUser(spec, cfg.User, rootfs);
}

/**
 * user[:group] as numbers, or names looked up in the rootfs's /etc/passwd
 * and /etc/group (which needs a rootfs directory to read).
 */
export function withUser(spec: Spec, user: string, rootfs?: string): void {
  const [u, g] = user.split(':');
  const lookup = (file: string, name: string): string[] | undefined => {
    if (!rootfs) return undefined;
    try {
      return fs.readFileSync(path.join(rootfs, 'etc', file), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
    } catch {
      return undefined;
    }
  };
  let uid: number;
  let gid = 0;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const entry = rootfs ? fs.existsSync(path.join(rootfs, 'etc', 'passwd')) ? lookupByUid(rootfs, uid) : undefined : undefined;
    if (entry) gid = Number(entry[3]);
  } else {
    const entry = lookup('passwd', u);
    if (!entry) throw new InvalidArgumentError(`no such user ${JSON.stringify(u)}${rootfs ? ` in ${rootfs}/etc/passwd` : ' (names need a rootfs to look them up)'}`);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const entry = lookup('group', g);
      if (!entry) throw new InvalidArgumentError(`no such group ${JSON.stringify(g)}`);
      gid = Number(entry[2]);
    }
  }
  spec.process.user = { uid, gid };
}

function lookupByUid(rootfs: string, uid: number): string[] | undefined {
  try {
    return fs.readFileSync(path.join(rootfs, 'etc', 'passwd'), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f.length > 3 && Number(f[2]) === uid);
  } catch {
    return undefined;
  }
}

/** The host's network namespace instead of a new one (ctr --net-host). */
export function withHostNetwork(spec: Spec): void {
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
}
