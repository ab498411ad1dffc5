/**
 * Applies an OCI layer (a tar stream) onto a directory (containerd
 * archive/tar.go applyNaive).
 *
 * Whiteouts (OCI image-spec layer.md) are converted to the target's form:
 *   - 'delete': the directory is a mounted snapshot (native, btrfs, any bind or
 *     overlay mount) — `.wh.<name>` removes <name>, `.wh..wh..opq` removes what
 *     the lower layers had in that directory (entries of this layer stay);
 *   - 'overlay': the directory is an overlayfs upper dir written directly —
 *     `.wh.<name>` becomes a 0/0 character device and `.wh..wh..opq` the
 *     (trusted|user).overlay.opaque=y xattr, as overlayfs itself writes them.
 *
 * Safety: entry names are cleaned; absolute names and names that climb out of
 * the root ("../") are refused, and so is an entry whose path goes through a
 * symlink that points outside the root (absolute symlinks are resolved inside
 * the root, as containerd's fs.RootPath). Hard link targets are held to the
 * same rules. Errors are InvalidArgument and name the entry.
 *
 * Ownership, modes (after chown, which clears set-id bits), xattrs (applied last,
 * since chown clears security.capability), device nodes, fifos, symlinks, hard
 * links and mtimes (directories last) are kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthError, InternalError, InvalidArgumentError } from '../../../proto/src/errdefs';
import { run } from '../snapshots/fsutil/exec';
import { mkfifo, mknod } from '../snapshots/fsutil/special';
import { setXattrs, type Xattrs } from '../snapshots/fsutil/xattr';
import type { TarHeader } from './tar/header';
import type { TarEntry } from './tar/reader';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

export interface ApplyOptions {
  whiteouts: 'delete' | 'overlay';
  /** overlay: the mount used "userxattr", so the opaque mark is user.overlay.opaque. */
  userxattr?: boolean;
  /** overlay: the lower dirs, nearest first (hard links to lower files are copied up from them). */
  parents?: string[];
}

/** Cleans a tar entry name to root-relative parts; refuses absolute names and escapes. */
export function cleanEntryName(name: string): string[] {
  if (name.startsWith('/')) throw new InvalidArgumentError(`tar entry ${JSON.stringify(name)}: absolute path refused`);
  const parts: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) throw new InvalidArgumentError(`tar entry ${JSON.stringify(name)}: path escapes the root (../)`);
      parts.pop();
    } else parts.push(seg);
  }
  return parts;
}

class Applier {
  /** Resolved absolute dirs for root-relative dir paths seen in this layer. */
  private readonly dirs = new Map<string, string>();
  /** Root-relative paths created by this layer (an opaque marker keeps them). */
  private readonly unpacked = new Set<string>();
  private readonly xattrs = new Map<string, Xattrs>();
  private readonly dirTimes: Array<[string, number]> = [];
  /** Root-relative dirs this layer created: nothing below them can pre-exist unless unpacked. */
  private readonly freshDirs = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly opts: ApplyOptions,
  ) {}

  /**
   * The absolute path of the directory `parts` inside root, following symlinks
   * inside the root and creating missing directories (0755, as containerd).
   */
  private async resolveDir(parts: string[], entry: string, create = true): Promise<string> {
    const key = parts.join('/');
    const cached = this.dirs.get(key);
    if (cached) return cached;
    let resolved: string[] = [];
    let todo = [...parts];
    let links = 0;
    while (todo.length > 0) {
      const seg = todo.shift() as string;
      const abs = path.join(this.root, ...resolved, seg);
      const st = fs.lstatSync(abs, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) {
        if (++links > 255) throw new InvalidArgumentError(`tar entry ${JSON.stringify(entry)}: too many levels of symbolic links`);
        const target = await fs.promises.readlink(abs);
        const base = target.startsWith('/') ? [] : [...resolved];
        for (const s of target.split('/')) {
          if (s === '' || s === '.') continue;
          if (s === '..') {
            if (base.length === 0) {
              throw new InvalidArgumentError(
                `tar entry ${JSON.stringify(entry)}: path goes through symlink ${JSON.stringify([...resolved, seg].join('/'))} → ${JSON.stringify(target)} outside the root`,
              );
            }
            base.pop();
          } else base.push(s);
        }
        resolved = [];
        todo = [...base, ...todo];
        continue;
      }
      if (st && !st.isDirectory()) {
        throw new InvalidArgumentError(`tar entry ${JSON.stringify(entry)}: ${JSON.stringify([...resolved, seg].join('/'))} is not a directory`);
      }
      if (!st) {
        if (!create) throw new InvalidArgumentError(`tar entry ${JSON.stringify(entry)}: ${JSON.stringify([...resolved, seg].join('/'))} does not exist`);
        fs.mkdirSync(abs);
        fs.chmodSync(abs, 0o755);
        this.freshDirs.add([...resolved, seg].join('/'));
      }
      resolved.push(seg);
    }
    const out = path.join(this.root, ...resolved);
    this.dirs.set(key, out);
    return out;
  }

  private forget(rel: string): void {
    for (const k of this.dirs.keys()) if (k === rel || k.startsWith(rel + '/')) this.dirs.delete(k);
    for (const k of this.xattrs.keys()) if (k === rel || k.startsWith(rel + '/')) this.xattrs.delete(k);
  }

  private async removeAll(abs: string, rel: string): Promise<void> {
    await fs.promises.rm(abs, { recursive: true, force: true });
    this.forget(rel);
  }

  async entry(e: TarEntry): Promise<void> {
    const h = e.header;
    const parts = cleanEntryName(h.name);
    if (parts.length === 0) {
      // The root itself: only its metadata applies.
      await this.metadata(this.root, '', h);
      return;
    }
    const base = parts[parts.length - 1];
    const parentParts = parts.slice(0, -1);
    const parent = await this.resolveDir(parentParts, h.name);
    const rel = parts.join('/');
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.whiteout(parent, parentParts.join('/'), base, h);
      return;
    }
    const abs = path.join(parent, base);
    const parentRel = parentParts.join('/');
    // In a dir this layer made, only this layer's own entries can be there: skip the lstat.
    const existing = this.freshDirs.has(parentRel) && !this.unpacked.has(rel) ? undefined : fs.lstatSync(abs, { throwIfNoEntry: false });
    let wasWhiteout = false;
    if (existing && !(existing.isDirectory() && h.type === 'dir')) {
      wasWhiteout = existing.isCharacterDevice() && existing.rdev === 0;
      await this.removeAll(abs, rel);
    }
    switch (h.type) {
      case 'dir':
        if (!existing || !existing.isDirectory()) {
          fs.mkdirSync(abs);
          this.freshDirs.add(rel);
        }
        // overlay: a directory that replaces a whiteout must hide the lower one.
        if (wasWhiteout && this.opts.whiteouts === 'overlay') this.setOpaque(rel);
        break;
      case 'file':
        // Content and metadata through one descriptor (fchown/fchmod/futimes: no path lookups).
        await writeFile(abs, h, e.body());
        this.unpacked.add(rel);
        this.recordXattrs(rel, h);
        return;
      case 'symlink':
        fs.symlinkSync(h.linkname, abs);
        break;
      case 'link':
        await fs.promises.link(await this.linkTarget(h), abs);
        break;
      case 'char':
      case 'block':
        await mknod(abs, h.type === 'char' ? 'c' : 'b', h.devmajor, h.devminor, h.mode);
        break;
      case 'fifo':
        await mkfifo(abs, h.mode);
        break;
    }
    this.unpacked.add(rel);
    if (h.type === 'link') return; // a hard link shares its target's inode and metadata
    await this.metadata(abs, rel, h);
  }

  private async linkTarget(h: TarHeader): Promise<string> {
    const parts = cleanEntryName(h.linkname);
    if (parts.length === 0) throw new InvalidArgumentError(`tar entry ${JSON.stringify(h.name)}: hard link to the root`);
    const dir = await this.resolveDir(parts.slice(0, -1), h.name);
    const target = path.join(dir, parts[parts.length - 1]);
    if (!fs.existsSync(target) && this.opts.whiteouts === 'overlay') {
      // The target lives in a lower layer: copy it up into the upper dir first.
      const rel = path.relative(this.root, target);
      for (const p of this.opts.parents ?? []) {
        const lower = path.join(p, rel);
        const st = await fs.promises.lstat(lower).catch(() => undefined);
        if (st && !st.isDirectory()) {
          await run('cp', ['-a', '--', lower, target]);
          break;
        }
      }
    }
    return target;
  }

  private setOpaque(rel: string): void {
    const name = `${this.opts.userxattr ? 'user' : 'trusted'}.overlay.opaque`;
    const x = this.xattrs.get(rel) ?? new Map();
    x.set(name, Buffer.from('y'));
    this.xattrs.set(rel, x);
  }

  private async whiteout(parent: string, parentRel: string, base: string, h: TarHeader): Promise<void> {
    if (base === WHITEOUT_OPAQUE) {
      if (this.opts.whiteouts === 'overlay') {
        this.setOpaque(parentRel);
        return;
      }
      for (const name of await fs.promises.readdir(parent)) {
        const rel = parentRel ? `${parentRel}/${name}` : name;
        if (!this.unpacked.has(rel)) await this.removeAll(path.join(parent, name), rel);
      }
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new InvalidArgumentError(`tar entry ${JSON.stringify(h.name)}: invalid whiteout`);
    const rel = parentRel ? `${parentRel}/${name}` : name;
    const abs = path.join(parent, name);
    await this.removeAll(abs, rel);
    if (this.opts.whiteouts === 'overlay') {
      await mknod(abs, 'c', 0, 0, 0);
      await fs.promises.lchown(abs, h.uid, h.gid);
    }
  }

  private async metadata(abs: string, rel: string, h: TarHeader): Promise<void> {
    // Metadata syscalls are microseconds: done synchronously, they skip a thread-pool hop each.
    fs.lchownSync(abs, h.uid, h.gid);
    if (h.type !== 'symlink') fs.chmodSync(abs, h.mode);
    this.recordXattrs(rel, h);
    if (h.type === 'dir') this.dirTimes.push([abs, h.mtime]);
    else fs.lutimesSync(abs, h.mtime, h.mtime);
  }

  private recordXattrs(rel: string, h: TarHeader): void {
    if (h.xattrs.size === 0) return;
    const x = this.xattrs.get(rel) ?? new Map();
    for (const [k, v] of h.xattrs) x.set(k, v);
    this.xattrs.set(rel, x);
  }

  async finish(): Promise<void> {
    await setXattrs([...this.xattrs].map(([rel, x]) => [rel === '' ? this.root : path.join(this.root, rel), x]));
    for (const [abs, mtime] of this.dirTimes.reverse()) await fs.promises.lutimes(abs, mtime, mtime).catch(() => undefined);
  }
}

const SMALL_FILE = 1 << 20;

/**
 * Writes a file's content: a small file is gathered and written in one
 * synchronous call (open/write/close without three thread-pool hops); a large
 * one is streamed through a file handle.
 */
async function writeFile(abs: string, h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
  const finish = (fd: number): void => {
    fs.fchownSync(fd, h.uid, h.gid);
    fs.fchmodSync(fd, h.mode); // after chown, which clears set-id bits
    fs.futimesSync(fd, h.mtime, h.mtime);
  };
  if (h.size <= SMALL_FILE) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    const fd = fs.openSync(abs, 'w', 0o600);
    try {
      const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off);
      finish(fd);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  const fh = await fs.promises.open(abs, 'w', 0o600);
  try {
    for await (const c of body) await fh.write(c);
    finish(fh.fd);
  } finally {
    await fh.close();
  }
}

/** Applies the entries onto root; resolves to the number of entries applied. */
export async function applyTar(root: string, entries: AsyncIterable<TarEntry>, opts: ApplyOptions): Promise<number> {
  const a = new Applier(path.resolve(root), opts);
  let n = 0;
  for await (const e of entries) {
    try {
      await a.entry(e);
    } catch (err) {
      if (err instanceof BerthError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      const msg = `failed to apply tar entry ${JSON.stringify(e.header.name)}: ${(err as Error).message}`;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new BerthError('ResourceExhausted', msg, { cause: err });
      throw new InternalError(msg, { cause: err });
    }
    n++;
  }
  await a.finish();
  return n;
}

