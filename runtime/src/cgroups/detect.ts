/**
 * What the host offers: cgroup v1, hybrid (v1 controllers plus a cgroup2 at
 * /sys/fs/cgroup/unified) or v2; where each v1 controller is mounted (several
 * can share a mount: "cpu,cpuacct"); and the runtime's own cgroups. Read fresh
 * on every call (opencontainers/cgroups caches in-process; a runtime process
 * lives for one command, so nothing here is cached at all).
 *
 * Model: runc libcontainer/cgroups/utils.go (IsCgroup2UnifiedMode,
 * IsCgroup2HybridMode) and v1_utils.go (mountinfo, GetOwnCgroupPath).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../proto/src/errdefs';
import type { CgroupMode } from './manager';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const HYBRID_MOUNTPOINT = '/sys/fs/cgroup/unified';
export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const CGROUP_SUPER_MAGIC = 0x27e0eb;

/** One v1 hierarchy: where it is mounted, which part of it is visible there, what it controls. */
export interface V1Mount {
  mountpoint: string;
  /** The mount's root inside the hierarchy ("/" unless the host is itself in a container). */
  root: string;
  /** Controllers of this hierarchy, e.g. ["cpu", "cpuacct"] or ["name=systemd"]. */
  subsystems: string[];
}

export interface CgroupHost {
  mode: CgroupMode;
  /** The cgroup2 mount: /sys/fs/cgroup on v2, /sys/fs/cgroup/unified on hybrid. */
  unifiedMountpoint?: string;
  /** v1 controller (or "name=systemd") → its mount. Empty on v2. */
  v1: Map<string, V1Mount>;
  /** /proc/self/cgroup: controller → cgroup path; "" → the cgroup2 path. */
  own: Record<string, string>;
}

/** A line of /proc/self/mountinfo (proc(5)). */
export interface MountInfo {
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 4) continue;
    out.push({
      root: unescapeOctal(fields[3]),
      mountpoint: unescapeOctal(fields[4]),
      fstype: fields[sep + 1],
      superOptions: fields[sep + 3].split(','),
    });
  }
  return out;
}

/** /proc/<pid>/cgroup: "hierarchy-id:controller-list:path" → controller → path ("" for cgroup2). */
export function parseProcCgroup(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) throw new FailedPreconditionError(`invalid cgroup entry: must contain at least two colons: ${line}`);
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    for (const c of controllers.split(',')) out[c] = p;
  }
  return out;
}

/** The v1 hierarchies in mountinfo, keyed by controller; the first mount of each wins (as runc). */
export function v1MountsFrom(mounts: MountInfo[], own: Record<string, string>): Map<string, V1Mount> {
  const out = new Map<string, V1Mount>();
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    const subsystems = m.superOptions.filter((o) => o in own);
    if (subsystems.length === 0) continue;
    const mount: V1Mount = { mountpoint: m.mountpoint, root: m.root, subsystems };
    for (const s of subsystems) if (!out.has(s)) out.set(s, mount);
  }
  return out;
}

function statfsType(p: string): number | undefined {
  try {
    return Number(fs.statfsSync(p).type);
  } catch {
    return undefined;
  }
}

/** v2 when /sys/fs/cgroup is a cgroup2 mount; hybrid when /sys/fs/cgroup/unified is; else v1. */
export function detectMode(): CgroupMode {
  if (statfsType(CGROUP_ROOT) === CGROUP2_SUPER_MAGIC) return 'v2';
  if (statfsType(HYBRID_MOUNTPOINT) === CGROUP2_SUPER_MAGIC) return 'hybrid';
  return 'v1';
}

/** Reads the host's cgroup layout now. */
export function detectHost(): CgroupHost {
  const mode = detectMode();
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  if (mode === 'v2') return { mode, unifiedMountpoint: CGROUP_ROOT, v1: new Map(), own };
  const v1 = v1MountsFrom(parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')), own);
  return { mode, unifiedMountpoint: mode === 'hybrid' ? HYBRID_MOUNTPOINT : undefined, v1, own };
}

/**
 * The directory of the runtime's own cgroup for a v1 controller (runc's
 * GetOwnCgroupPath): the mountpoint plus the own path relative to the mount's root.
 */
export function ownV1Dir(host: CgroupHost, subsystem: string): string | undefined {
  const mount = host.v1.get(subsystem);
  const own = host.own[subsystem];
  if (!mount || own === undefined) return undefined;
  const rel = path.posix.relative(mount.root, own);
  return path.posix.join(mount.mountpoint, rel);
}

/** Controllers the cgroup2 hierarchy offers at dir (its cgroup.controllers). */
export function v2Controllers(dir: string): Set<string> {
  try {
    return new Set(fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}

/** Page sizes with a hugetlb controller file, named as the kernel names them ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  let names: string[];
  try {
    names = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) continue;
    const kb = Number(m[1]);
    // mm/hugetlb_cgroup.c names them in the largest whole unit.
    if (kb >= 1 << 20) out.push(`${kb >> 20}GB`);
    else if (kb >= 1 << 10) out.push(`${kb >> 10}MB`);
    else out.push(`${kb}KB`);
  }
  return out.sort();
}

/** Whether systemd runs this host (runc's systemd.IsRunningSystemd). */
export function isRunningSystemd(): boolean {
  try {
    return fs.lstatSync('/run/systemd/system').isDirectory();
  } catch {
    return false;
  }
}
