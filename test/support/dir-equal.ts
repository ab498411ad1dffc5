/**
 * Recursive directory comparison (containerd continuity fstest.CheckDirectoryEqual):
 * the same paths with the same type, mode, owner, content, link target, device
 * number and xattrs. Directory sizes and times are not compared (they differ
 * between filesystems); regular files' mtimes only with {mtime: true}.
 * Overlay whiteouts (0/0 char devices) compare as what they are: an overlay
 * upper dir is not a flat tree, so compare mounted views.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getXattrsTree, type Xattrs } from '../../supervisor/src/snapshots/fsutil/xattr';

export interface EqualOptions {
  /** Compare mtimes of non-directories (second precision). */
  mtime?: boolean;
  /** Compare the roots themselves too (default: only what is below them, as fstest). */
  root?: boolean;
  /** xattr names to ignore (e.g. security.selinux). */
  ignoreXattrs?: RegExp;
}

interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  rdev: number;
  mtime: number;
  target?: string;
  content?: Buffer;
  xattrs: string;
}

function typeOf(st: fs.Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

const fmtXattrs = (x: Xattrs | undefined, ignore?: RegExp): string =>
  [...(x ?? new Map())]
    .filter(([k]) => !ignore || !ignore.test(k))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v.toString('hex')}`)
    .join(',');

/** Every path below root (relative, "" excluded for the root's own entry name) → Entry. */
export async function snapshotTree(root: string, opts: EqualOptions = {}): Promise<Map<string, Entry>> {
  const xattrs = await getXattrsTree(root);
  const out = new Map<string, Entry>();
  const visit = async (rel: string): Promise<void> => {
    const p = path.join(root, rel);
    const st = await fs.promises.lstat(p);
    const e: Entry = {
      type: typeOf(st),
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      size: st.isFile() ? st.size : 0,
      rdev: st.isCharacterDevice() || st.isBlockDevice() ? st.rdev : 0,
      mtime: st.isDirectory() ? 0 : Math.floor(st.mtimeMs / 1000),
      xattrs: fmtXattrs(xattrs.get(rel), opts.ignoreXattrs),
    };
    if (st.isSymbolicLink()) e.target = await fs.promises.readlink(p);
    if (st.isFile()) e.content = await fs.promises.readFile(p);
    out.set(rel === '' ? '/' : '/' + rel, e);
    if (st.isDirectory()) {
      for (const name of (await fs.promises.readdir(p)).sort()) await visit(rel === '' ? name : `${rel}/${name}`);
    }
  };
  await visit('');
  return out;
}

/** The differences between two trees, one line each; empty when equal. */
export async function diffDirectories(expected: string, actual: string, opts: EqualOptions = {}): Promise<string[]> {
  const [a, b] = await Promise.all([snapshotTree(expected, opts), snapshotTree(actual, opts)]);
  const problems: string[] = [];
  for (const [p, ea] of a) {
    if (p === '/' && !opts.root) continue;
    const eb = b.get(p);
    if (!eb) {
      problems.push(`${p}: missing (expected ${ea.type})`);
      continue;
    }
    for (const k of ['type', 'mode', 'uid', 'gid', 'size', 'rdev', 'target', 'xattrs'] as const) {
      if (k === 'mode' && ea.type === 'symlink') continue;
      if (ea[k] !== eb[k]) {
        const fmt = (v: unknown): string => (k === 'mode' ? (v as number).toString(8) : JSON.stringify(v));
        problems.push(`${p}: ${k} ${fmt(eb[k])}, expected ${fmt(ea[k])}`);
      }
    }
    if (ea.content && eb.content && !ea.content.equals(eb.content)) problems.push(`${p}: content differs`);
    if (opts.mtime && ea.type !== 'dir' && ea.type !== 'symlink' && ea.mtime !== eb.mtime) problems.push(`${p}: mtime ${eb.mtime}, expected ${ea.mtime}`);
  }
  for (const [p, eb] of b) if (!a.has(p)) problems.push(`${p}: unexpected ${eb.type}`);
  return problems;
}

/** Throws with the list of differences unless the trees are equal. */
export async function checkDirectoryEqual(expected: string, actual: string, opts: EqualOptions = {}): Promise<void> {
  const problems = await diffDirectories(expected, actual, opts);
  if (problems.length > 0) {
    throw new Error(`directories ${expected} and ${actual} differ:\n  ${problems.slice(0, 50).join('\n  ')}`);
  }
}
