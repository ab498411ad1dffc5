/**
 * The changes between two trees as a stream of tar entries (containerd
 * archive.WriteDiff + fs.Changes + the change writer's includeParents).
 *
 * Two sources of changes:
 *   - walkChanges: a double walk of lower and upper (any snapshotter), comparing
 *     type, mode, owner, size, mtime (content when mtimes are whole seconds),
 *     link target, device number and xattrs;
 *   - overlayChanges: an overlayfs upper dir read directly (no walk of the
 *     lower): a 0/0 char device is a deletion, an opaque dir gets a
 *     `.wh..wh..opq` entry, everything else present is an addition/change.
 * Deletions become `.wh.<name>` entries. Parent directories of every change
 * are emitted first (from upper), hard links within the diff become link
 * entries, and entries come in path order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getXattrsTree, type Xattrs } from '../snapshots/fsutil/xattr';
import { major, minor } from '../snapshots/fsutil/special';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './apply';
import type { EntryType, TarHeader } from './tar/header';

export type Change = { kind: 'add' | 'modify'; rel: string; st: fs.BigIntStats } | { kind: 'delete'; rel: string } | { kind: 'opaque'; rel: string };

type Entry = { header: TarHeader; body?: () => AsyncIterable<Buffer> };

const readdirSorted = async (p: string): Promise<string[]> => (await fs.promises.readdir(p)).sort();
const lstat = (p: string): Promise<fs.BigIntStats | undefined> =>
  fs.promises.lstat(p, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });

const join = (rel: string, name: string): string => (rel ? `${rel}/${name}` : name);

function typeOf(st: fs.BigIntStats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived
}

const xattrsEqual = (a?: Xattrs, b?: Xattrs): boolean =>
  (a?.size ?? 0) === (b?.size ?? 0) && [...(a ?? new Map())].every(([k, v]) => b?.get(k)?.equals(v));

async function sameContent(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([fs.promises.readFile(a), fs.promises.readFile(b)]);
  return x.equals(y);
}

/** The double walk: every difference between lower and upper, in path order. */
export async function* walkChanges(lower: string, upper: string): AsyncGenerator<Change> {
  const [lx, ux] = await Promise.all([getXattrsTree(lower), getXattrsTree(upper)]);
  async function* walk(rel: string, lowerIsDir: boolean): AsyncGenerator<Change> {
    const un = await readdirSorted(path.join(upper, rel));
    const ln = lowerIsDir ? await readdirSorted(path.join(lower, rel)) : [];
    const names = [...new Set([...un, ...ln])].sort();
    const inUpper = new Set(un);
    for (const name of names) {
      const r = join(rel, name);
      if (!inUpper.has(name)) {
        yield { kind: 'delete', rel: r };
        continue;
      }
      const us = (await lstat(path.join(upper, r))) as fs.BigIntStats;
      const ls = lowerIsDir ? await lstat(path.join(lower, r)) : undefined;
      if (!ls) {
        yield { kind: 'add', rel: r, st: us };
        if (us.isDirectory()) yield* walk(r, false);
        continue;
      }
      const ut = typeOf(us);
      if (ut !== typeOf(ls)) {
        // A type change: the new entry replaces the old one whole.
        yield { kind: 'add', rel: r, st: us };
        if (us.isDirectory()) yield* walk(r, false);
        continue;
      }
      let changed =
        us.mode !== ls.mode || us.uid !== ls.uid || us.gid !== ls.gid || us.rdev !== ls.rdev || !xattrsEqual(lx.get(r), ux.get(r));
      if (!changed && ut === 'symlink') changed = (await fs.promises.readlink(path.join(upper, r))) !== (await fs.promises.readlink(path.join(lower, r)));
      if (!changed && ut === 'file') {
        changed = us.size !== ls.size || us.mtimeNs !== ls.mtimeNs;
        // Whole-second mtimes may come from a tar or a coarse filesystem: compare contents.
        if (!changed && us.mtimeNs % 1_000_000_000n === 0n) changed = !(await sameContent(path.join(upper, r), path.join(lower, r)));
      }
      if (changed) yield { kind: 'modify', rel: r, st: us };
      if (ut === 'dir') yield* walk(r, true);
    }
  }
  yield* walk('', true);
}

/** Whether an overlay upper dir uses features a plain read cannot interpret (redirect_dir, metacopy). */
export async function overlayUpperIsPlain(upper: string): Promise<boolean> {
  for (const x of (await getXattrsTree(upper)).values()) {
    for (const k of x.keys()) if (/^(trusted|user)\.overlay\.(redirect|metacopy)$/.test(k)) return false;
  }
  return true;
}

/** The changes recorded in an overlayfs upper dir, read directly. */
export async function* overlayChanges(upper: string): AsyncGenerator<Change> {
  const ux = await getXattrsTree(upper);
  const isOpaque = (rel: string): boolean => {
    const x = ux.get(rel);
    return ['trusted.overlay.opaque', 'user.overlay.opaque'].some((k) => x?.get(k)?.toString() === 'y');
  };
  async function* walk(rel: string): AsyncGenerator<Change> {
    for (const name of await readdirSorted(path.join(upper, rel))) {
      const r = join(rel, name);
      const st = (await lstat(path.join(upper, r))) as fs.BigIntStats;
      if (st.isCharacterDevice() && st.rdev === 0n) {
        yield { kind: 'delete', rel: r };
        continue;
      }
      yield { kind: 'modify', rel: r, st };
      if (st.isDirectory()) {
        if (isOpaque(r)) yield { kind: 'opaque', rel: r };
        yield* walk(r);
      }
    }
  }
  yield* walk('');
}

/** Turns changes into tar entries (whiteouts, parents first, hard links), reading files from upper. */
export async function* changesToEntries(upper: string, changes: AsyncIterable<Change>, opts: { overlay?: boolean } = {}): AsyncGenerator<Entry> {
  const xattrs = await getXattrsTree(upper);
  const emittedDirs = new Set<string>(['']);
  const inodes = new Map<string, string>();
  const keepXattr = (k: string): boolean => !(opts.overlay && /^(trusted|user)\.overlay\./.test(k));

  const header = async (rel: string, st: fs.BigIntStats): Promise<TarHeader | undefined> => {
    const type = typeOf(st);
    if (!type) return undefined;
    const x = new Map([...(xattrs.get(rel) ?? new Map<string, Buffer>())].filter(([k]) => keepXattr(k)));
    const rdev = Number(st.rdev);
    return {
      name: type === 'dir' ? `${rel}/` : rel,
      type,
      mode: Number(st.mode) & 0o7777,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === 'file' ? Number(st.size) : 0,
      mtime: Number(st.mtimeNs / 1_000_000_000n),
      linkname: type === 'symlink' ? await fs.promises.readlink(path.join(upper, rel)) : '',
      devmajor: type === 'char' || type === 'block' ? major(rdev) : 0,
      devminor: type === 'char' || type === 'block' ? minor(rdev) : 0,
      xattrs: x,
    };
  };

  async function* parents(rel: string): AsyncGenerator<Entry> {
    const parts = rel.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (emittedDirs.has(d)) continue;
      emittedDirs.add(d);
      const st = await lstat(path.join(upper, d));
      const h = st && (await header(d, st));
      if (h) yield { header: h };
    }
  }

  for await (const c of changes) {
    yield* parents(c.rel);
    if (c.kind === 'delete' || c.kind === 'opaque') {
      const dir = c.kind === 'delete' ? path.posix.dirname(c.rel) : c.rel;
      const base = c.kind === 'delete' ? WHITEOUT_PREFIX + path.posix.basename(c.rel) : WHITEOUT_OPAQUE;
      yield {
        header: {
          name: dir === '.' || dir === '' ? base : `${dir}/${base}`,
          type: 'file',
          mode: 0,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: 0,
          linkname: '',
          devmajor: 0,
          devminor: 0,
          xattrs: new Map(),
        },
      };
      continue;
    }
    const h = await header(c.rel, c.st);
    if (!h) continue;
    if (h.type === 'dir') emittedDirs.add(c.rel);
    if (h.type === 'file' && c.st.nlink > 1n) {
      const id = `${c.st.dev}:${c.st.ino}`;
      const first = inodes.get(id);
      if (first !== undefined) {
        yield { header: { ...h, type: 'link', size: 0, linkname: first, xattrs: new Map() } };
        continue;
      }
      inodes.set(id, c.rel);
    }
    const abs = path.join(upper, c.rel);
    yield { header: h, body: h.type === 'file' ? () => fs.createReadStream(abs) : undefined };
  }
}
