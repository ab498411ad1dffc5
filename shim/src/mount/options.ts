/**
 * containerd's mount options → mount(2) calls (mount/mount_linux.go), as
 * data: a table of flag options, the rest joined as the data string.
 */

import { MS } from '../../../runtime/src/plan/mount-options';

export { MS };

/**
 * option → [clear?, flag]: containerd's table (mount_linux.go), a subset of
 * runc's (runtime/src/plan/mount-options.ts); other options go to the data string.
 */
const FLAG_OPTIONS: Record<string, [boolean, number]> = {
  async: [true, MS.SYNCHRONOUS],
  atime: [true, MS.NOATIME],
  bind: [false, MS.BIND],
  defaults: [false, 0],
  dev: [true, MS.NODEV],
  diratime: [true, MS.NODIRATIME],
  dirsync: [false, MS.DIRSYNC],
  exec: [true, MS.NOEXEC],
  mand: [false, MS.MANDLOCK],
  noatime: [false, MS.NOATIME],
  nodev: [false, MS.NODEV],
  nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC],
  nomand: [true, MS.MANDLOCK],
  norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME],
  nosuid: [false, MS.NOSUID],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  remount: [false, MS.REMOUNT],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  strictatime: [false, MS.STRICTATIME],
  suid: [true, MS.NOSUID],
  sync: [false, MS.SYNCHRONOUS],
  // propagation (applied in a second call, as containerd does)
  private: [false, MS.PRIVATE],
  rprivate: [false, MS.PRIVATE | MS.REC],
  shared: [false, MS.SHARED],
  rshared: [false, MS.SHARED | MS.REC],
  slave: [false, MS.SLAVE],
  rslave: [false, MS.SLAVE | MS.REC],
  unbindable: [false, MS.UNBINDABLE],
  runbindable: [false, MS.UNBINDABLE | MS.REC],
};

const PROPAGATION = MS.SHARED | MS.PRIVATE | MS.SLAVE | MS.UNBINDABLE;
/** One page: the kernel's limit for the data argument. */
const PAGE_SIZE = 4096;

export interface MountCall {
  kind: 'mount';
  /** Directory to chdir to first ("" for none): shortens overlay lowerdirs. */
  chdir: string;
  source: string;
  target: string;
  fstype: string;
  flags: number;
  data: string;
}

export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export function parseMountOptions(options: string[]): { flags: number; data: string; loop: boolean } {
  let flags = 0;
  let loop = false;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAG_OPTIONS[o];
    if (f && f[1] !== 0) {
      flags = f[0] ? flags & ~f[1] : flags | f[1];
    } else if (o === 'loop') {
      loop = true;
    } else if (!f) {
      data.push(o);
    }
  }
  return { flags, data: data.join(','), loop };
}

/**
 * The mount(2) calls that put `m` onto `target` (containerd Mount.Mount):
 * the mount itself, then a propagation change, then the read-only remount a
 * read-only bind needs.
 */
export function mountCalls(m: Mount, target: string): MountCall[] {
  let chdir = '';
  let options = m.options;
  if (m.type === 'overlay' && options.reduce((n, o) => n + o.length, 0) >= PAGE_SIZE - 512) {
    [chdir, options] = compactLowerdir(options);
  }
  const { flags, data, loop } = parseMountOptions(options);
  if (loop) throw new Error(`failed to mount ${m.source}: loop mounts are not supported by the berth shim`);
  if (data.length > PAGE_SIZE) throw new Error('mount options is too long');
  const oflags = flags & ~PROPAGATION;
  const calls: MountCall[] = [];
  if ((flags & MS.REMOUNT) === 0 || data !== '') {
    calls.push({ kind: 'mount', chdir, source: m.source, target, fstype: m.type, flags: oflags, data });
  }
  if (flags & PROPAGATION) {
    calls.push({ kind: 'mount', chdir: '', source: '', target, fstype: '', flags: flags & (PROPAGATION | MS.REC | MS.SILENT), data: '' });
  }
  if ((oflags & (MS.BIND | MS.RDONLY)) === (MS.BIND | MS.RDONLY)) {
    calls.push({ kind: 'mount', chdir: '', source: '', target, fstype: '', flags: oflags | MS.REMOUNT, data: '' });
  }
  return calls;
}

/** Rewrites lowerdir=... relative to the dirs' common parent (compactLowerdirOption). */
export function compactLowerdir(options: string[]): [string, string[]] {
  const idx = options.findIndex((o) => o.startsWith('lowerdir='));
  if (idx < 0) return ['', options];
  const dirs = options[idx].slice('lowerdir='.length).split(':');
  if (dirs.length === 1) return ['', options];
  let prefix = dirs[0];
  for (const d of dirs.slice(1)) {
    let i = 0;
    while (i < prefix.length && i < d.length && prefix[i] === d[i]) i++;
    prefix = prefix.slice(0, i);
  }
  if (prefix === '') return ['', options];
  let common = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix.slice(0, prefix.lastIndexOf('/'));
  if (common === '' || common === '/') return ['', options];
  common += '/';
  const out = options.filter((_, i) => i !== idx);
  out.push(`lowerdir=${dirs.map((d) => d.slice(common.length)).join(':')}`);
  return [common, out];
}
