/**
 * config.json "mounts" → steps, in order, as runc's mountToRootfs:
 * resolve the destination inside the rootfs, create it (a directory, or a
 * file for a bind of a file), mount, then remount for bind flags, recursive
 * attributes and propagation, each its own call as the kernel requires.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CgroupHost, CgroupPaths } from '../cgroups';
import { ConfigError } from '../errors';
import type { Mount } from '../spec/types';
import { step, StepFlag, type Step } from '../process/plan';
import { MOUNT_ATTR, MS, parseMountOptions } from './mount-options';
import { cleanPath, RootfsResolver } from './resolve';

export interface MountContext {
  bundle: string;
  resolver: RootfsResolver;
  /** A new cgroup namespace: cgroup filesystems are mounted fresh rather than bound. */
  cgroupns: boolean;
  /** The container's cgroup directories (for a cgroup mount without a cgroup namespace). */
  cgroupPaths: CgroupPaths;
  /** The host's cgroup mounts: which hierarchies exist and where. */
  cgroupHost: CgroupHost;
}

/** /proc files that may be bind-mounted over (lxcfs), as runc's checkProcMount. */
const procFileAllowlist = new Set([
  '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime', '/proc/loadavg',
  '/proc/slabinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid',
]);

function checkProcMount(dest: string, m: Mount, isBind: boolean, source: string): void {
  if (dest !== '/proc' && !dest.startsWith('/proc/')) return;
  if (dest === '/proc' && m.type === 'proc') return;
  if (isBind && procFileAllowlist.has(dest)) return;
  if (isBind && (source === '/proc' || source.startsWith('/proc/'))) {
    // A bind of procfs itself over /proc/<x> would expose the host's proc.
    throw new ConfigError(`mount ${JSON.stringify(m.destination)}: cannot bind-mount /proc paths over /proc`);
  }
  if (dest === '/proc') throw new ConfigError(`mount ${JSON.stringify(m.destination)}: /proc must be a proc filesystem`);
  throw new ConfigError(`mount ${JSON.stringify(m.destination)}: mounting over /proc is not allowed (only procfs files ${[...procFileAllowlist].join(', ')})`);
}

/** Flags that only make sense on a remount of a bind mount. */
const BIND_ONLY = MS.BIND | MS.REC | MS.REMOUNT;

export function planMounts(mounts: readonly Mount[], ctx: MountContext): Step[] {
  const steps: Step[] = [];
  for (const m of mounts) steps.push(...planMount(m, ctx));
  return steps;
}

function planMount(m: Mount, ctx: MountContext): Step[] {
  const opts = parseMountOptions(m.options);
  const isBind = m.type === 'bind' || (opts.flags & MS.BIND) !== 0;
  const dest = cleanPath(m.destination);
  if (dest === '/') throw new ConfigError(`mount ${JSON.stringify(m.destination)}: cannot mount over the rootfs`);
  const source = isBind ? path.resolve(ctx.bundle, m.source ?? '') : m.source ?? '';
  checkProcMount(dest, m, isBind, source);
  if (m.type === 'cgroup' || m.type === 'cgroup2') return planCgroupMount(m, dest, opts.flags, ctx);

  const resolved = ctx.resolver.resolve(dest);
  const target = ctx.resolver.hostPath(resolved);
  const steps: Step[] = [];
  if (isBind) {
    let st: fs.Stats;
    try {
      st = fs.statSync(source);
    } catch (err) {
      throw new ConfigError(`mount ${JSON.stringify(m.destination)}: bind source ${JSON.stringify(source)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (st.isDirectory()) steps.push(step.mkdir(target));
    else {
      steps.push(step.mkdir(path.dirname(target)), step.mkfile(target, 0o755));
    }
    steps.push(step.mount(source, target, '', MS.BIND | (opts.flags & MS.REC), '', StepFlag.CheckTarget, `bind ${source} on ${dest}`));
    if ((opts.flags & ~BIND_ONLY) !== 0) {
      steps.push(step.mount('', target, '', opts.flags | MS.REMOUNT | MS.BIND, '', 0, `remount ${dest}`));
    }
    ctx.resolver.addMount({ destination: resolved, bindSource: fs.realpathSync(source) });
  } else {
    const kind = ctx.resolver.kind(resolved);
    if (kind === 'file') throw new ConfigError(`mount ${JSON.stringify(m.destination)}: cannot mount a ${m.type ?? 'filesystem'} onto a file`);
    steps.push(step.mkdir(target));
    const copyUp = opts.extensions.includes('tmpcopyup');
    if (copyUp && m.type !== 'tmpfs') throw new ConfigError(`mount ${JSON.stringify(m.destination)}: tmpcopyup is only for tmpfs mounts`);
    const stepFlags = StepFlag.CheckTarget | (copyUp ? StepFlag.CopyUp : 0);
    steps.push(step.mount(source, target, m.type ?? '', opts.flags & ~MS.REMOUNT, opts.data, stepFlags, `mount ${m.type} on ${dest}`));
    ctx.resolver.addMount({ destination: resolved });
  }
  if (opts.recAttrSet || opts.recAttrClr) steps.push(step.mountSetattr(target, opts.recAttrSet, opts.recAttrClr));
  for (const p of opts.propagation) steps.push(step.mount('', target, '', p, '', 0, `propagation of ${dest}`));
  return steps;
}

/**
 * A "cgroup" mount, as runc's mountCgroupV1 / mountCgroupV2.
 * v1: a tmpfs, then each hierarchy (fresh in a cgroup namespace, else a bind
 * of the container's own directory), symlinks for co-mounted controllers, and
 * the tmpfs made read-only last. v2: the cgroup2 filesystem itself.
 */
function planCgroupMount(m: Mount, dest: string, flags: number, ctx: MountContext): Step[] {
  const resolved = ctx.resolver.resolve(dest);
  const target = ctx.resolver.hostPath(resolved);
  const steps: Step[] = [step.mkdir(target)];
  ctx.resolver.addMount({ destination: resolved });
  if (Object.keys(ctx.cgroupPaths).length === 0 && !ctx.cgroupns) {
    // A rootless container without a cgroup of its own: the host's hierarchy, read-only,
    // which is what it would see through an rbind of /sys anyway.
    steps.push(step.mount('/sys/fs/cgroup', target, '', MS.BIND | MS.REC, '', StepFlag.CheckTarget, `bind the host's cgroups on ${dest}`));
    steps.push(step.mountSetattr(target, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC, 0));
    return steps;
  }
  if (ctx.cgroupHost.mode === 'v2' || m.type === 'cgroup2') {
    if (ctx.cgroupns) {
      steps.push(step.mount('cgroup2', target, 'cgroup2', flags, '', StepFlag.CheckTarget, `mount cgroup2 on ${dest}`));
    } else {
      const dir = ctx.cgroupPaths[''];
      if (!dir) throw new ConfigError(`mount ${dest}: the container has no cgroup2 directory to bind`);
      steps.push(step.mount(dir, target, '', MS.BIND | MS.REC, '', StepFlag.CheckTarget, `bind cgroup on ${dest}`));
      if (flags & ~BIND_ONLY) steps.push(step.mount('', target, '', flags | MS.BIND | MS.REC | MS.REMOUNT, '', 0, `remount ${dest}`));
    }
    return steps;
  }
  const tmpfsFlags = MS.NOEXEC | MS.NOSUID | MS.NODEV;
  steps.push(step.mount('tmpfs', target, 'tmpfs', tmpfsFlags, 'mode=755', StepFlag.CheckTarget, `mount tmpfs on ${dest}`));
  // One entry per hierarchy, named as its mountpoint ("cpu,cpuacct", "memory", "systemd"),
  // bound from the container's own directory in it.
  const hierarchies = new Map<string, { dir: string; subsystems: string[] }>();
  for (const mount of new Set(ctx.cgroupHost.v1.values())) {
    const sub = mount.subsystems.find((s) => ctx.cgroupPaths[s] !== undefined);
    if (!sub) continue;
    hierarchies.set(path.basename(mount.mountpoint), { dir: ctx.cgroupPaths[sub], subsystems: mount.subsystems });
  }
  const inner = flags & ~(MS.REMOUNT | MS.RDONLY);
  // A plain comparison: localeCompare would load ICU collation data (~tens of ms).
  for (const [base, h] of [...hierarchies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const sub = `${target}/${base}`;
    steps.push(step.mkdir(sub));
    if (ctx.cgroupns) {
      steps.push(step.mount('cgroup', sub, 'cgroup', flags, h.subsystems.join(','), StepFlag.CheckTarget, `mount cgroup ${base} on ${dest}/${base}`));
    } else {
      steps.push(step.mount(h.dir, sub, '', MS.BIND | MS.REC, '', StepFlag.CheckTarget, `bind cgroup ${base} on ${dest}/${base}`));
      if (flags & ~BIND_ONLY) steps.push(step.mount('', sub, '', inner | (flags & MS.RDONLY) | MS.BIND | MS.REC | MS.REMOUNT, '', 0, `remount ${dest}/${base}`));
    }
    for (const part of base.split(',')) {
      if (part !== base) steps.push(step.symlink(base, `${target}/${part}`));
    }
  }
  if (flags & MS.RDONLY) steps.push(step.mount('', target, '', tmpfsFlags | MS.RDONLY | MS.REMOUNT, 'mode=755', 0, `make ${dest} read-only`));
  return steps;
}
