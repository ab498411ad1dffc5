/**
 * Mount options → mount(2) flags, as runc's specconv parseMountOptions (and
 * crun's mount_flags table): one table, looked up per option. What is not a
 * flag, a propagation type, a recursive attribute or an extension goes to the
 * filesystem as data.
 */

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  POSIXACL: 1 << 16,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** mount_setattr(2) attributes, for the recursive "r*" options. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

/** option → [clear?, flag] */
const flagTable: Record<string, [boolean, number]> = {
  acl: [false, MS.POSIXACL],
  async: [true, MS.SYNCHRONOUS],
  atime: [true, MS.NOATIME],
  bind: [false, MS.BIND],
  defaults: [false, 0],
  dev: [true, MS.NODEV],
  diratime: [true, MS.NODIRATIME],
  dirsync: [false, MS.DIRSYNC],
  exec: [true, MS.NOEXEC],
  iversion: [false, MS.I_VERSION],
  lazytime: [false, MS.LAZYTIME],
  loud: [true, MS.SILENT],
  mand: [false, MS.MANDLOCK],
  noacl: [true, MS.POSIXACL],
  noatime: [false, MS.NOATIME],
  nodev: [false, MS.NODEV],
  nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC],
  noiversion: [true, MS.I_VERSION],
  nolazytime: [true, MS.LAZYTIME],
  nomand: [true, MS.MANDLOCK],
  norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME],
  nosuid: [false, MS.NOSUID],
  nosymfollow: [false, MS.NOSYMFOLLOW],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  remount: [false, MS.REMOUNT],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  silent: [false, MS.SILENT],
  strictatime: [false, MS.STRICTATIME],
  suid: [true, MS.NOSUID],
  sync: [false, MS.SYNCHRONOUS],
  symfollow: [true, MS.NOSYMFOLLOW],
};

const propagationTable: Record<string, number> = {
  private: MS.PRIVATE,
  shared: MS.SHARED,
  slave: MS.SLAVE,
  unbindable: MS.UNBINDABLE,
  rprivate: MS.PRIVATE | MS.REC,
  rshared: MS.SHARED | MS.REC,
  rslave: MS.SLAVE | MS.REC,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** option → [clear?, attribute] applied recursively with mount_setattr (runc 1.1's "rro" & co). */
const recAttrTable: Record<string, [boolean, number]> = {
  rro: [false, MOUNT_ATTR.RDONLY],
  rrw: [true, MOUNT_ATTR.RDONLY],
  rnosuid: [false, MOUNT_ATTR.NOSUID],
  rsuid: [true, MOUNT_ATTR.NOSUID],
  rnodev: [false, MOUNT_ATTR.NODEV],
  rdev: [true, MOUNT_ATTR.NODEV],
  rnoexec: [false, MOUNT_ATTR.NOEXEC],
  rexec: [true, MOUNT_ATTR.NOEXEC],
  rnodiratime: [false, MOUNT_ATTR.NODIRATIME],
  rdiratime: [true, MOUNT_ATTR.NODIRATIME],
  rrelatime: [false, MOUNT_ATTR.RELATIME],
  rnorelatime: [true, MOUNT_ATTR.RELATIME],
  rnoatime: [false, MOUNT_ATTR.NOATIME],
  ratime: [true, MOUNT_ATTR.NOATIME],
  rstrictatime: [false, MOUNT_ATTR.STRICTATIME],
  rnostrictatime: [true, MOUNT_ATTR.STRICTATIME],
  rnosymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
  rsymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW],
};

/** Options that are ours, not the kernel's (runc: "tmpcopyup"). */
const extensions = new Set(['tmpcopyup']);

export interface ParsedMountOptions {
  flags: number;
  /** Each propagation change is its own mount(2) call, in order. */
  propagation: number[];
  recAttrSet: number;
  recAttrClr: number;
  extensions: string[];
  /** Everything else, comma-joined, as the fs-specific data. */
  data: string;
}

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, propagation: [], recAttrSet: 0, recAttrClr: 0, extensions: [], data: '' };
  const data: string[] = [];
  for (const o of options) {
    const f = flagTable[o];
    if (f) {
      out.flags = f[0] ? out.flags & ~f[1] : out.flags | f[1];
      continue;
    }
    const p = propagationTable[o];
    if (p !== undefined) {
      out.propagation.push(p);
      continue;
    }
    const r = recAttrTable[o];
    if (r) {
      if (r[0]) {
        out.recAttrClr |= r[1];
        out.recAttrSet &= ~r[1];
      } else {
        out.recAttrSet |= r[1];
        out.recAttrClr &= ~r[1];
      }
      // The atime modes are one field: setting one clears the others.
      if (r[1] === MOUNT_ATTR.NOATIME || r[1] === MOUNT_ATTR.STRICTATIME || o === 'rrelatime') out.recAttrClr |= MOUNT_ATTR.ATIME_MASK;
      continue;
    }
    if (extensions.has(o)) {
      out.extensions.push(o);
      continue;
    }
    data.push(o);
  }
  out.data = data.join(',');
  return out;
}

/** Every option name the runtime understands, for `features` (as runc lists them). */
export function knownMountOptions(): string[] {
  return [...Object.keys(flagTable), ...Object.keys(propagationTable), ...Object.keys(recAttrTable), ...extensions].sort();
}

/** rootfsPropagation → the flags for mount(NULL, "/", NULL, flags) (runc: default rslave). */
export function rootPropagation(value: string | undefined): number {
  if (!value) return MS.SLAVE | MS.REC;
  const p = propagationTable[value];
  if (p === undefined) throw new Error(`invalid rootfsPropagation ${JSON.stringify(value)}`);
  return p;
}
