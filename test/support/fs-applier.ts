/**
 * Filesystem appliers for tests (containerd continuity fs/fstest): small
 * composable changes applied to a directory — the snapshotter conformance
 * suite applies each both to a mounted snapshot and to a flat directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setXattr } from '../../supervisor/src/snapshots/fsutil/xattr';
import { mkfifo, mknod } from '../../supervisor/src/snapshots/fsutil/special';

export type Applier = (root: string) => Promise<void>;

const at = (root: string, p: string): string => path.join(root, p);

/** Writes a file with exactly this mode (umask ignored). */
export const createFile = (p: string, content: string | Buffer, mode: number): Applier => async (root) => {
  await fs.promises.writeFile(at(root, p), content);
  await fs.promises.chmod(at(root, p), mode);
};

/** Creates a directory with exactly this mode. */
export const createDir = (p: string, mode: number): Applier => async (root) => {
  await fs.promises.mkdir(at(root, p));
  await fs.promises.chmod(at(root, p), mode);
};

export const removeAll = (p: string): Applier => async (root) => {
  await fs.promises.rm(at(root, p), { recursive: true, force: true });
};

export const chown = (p: string, uid: number, gid: number): Applier => async (root) => {
  await fs.promises.lchown(at(root, p), uid, gid);
};

export const chmod = (p: string, mode: number): Applier => async (root) => {
  await fs.promises.chmod(at(root, p), mode);
};

/** A hard link newname → oldname. */
export const link = (oldname: string, newname: string): Applier => async (root) => {
  await fs.promises.link(at(root, oldname), at(root, newname));
};

export const symlink = (target: string, linkname: string): Applier => async (root) => {
  await fs.promises.symlink(target, at(root, linkname));
};

export const rename = (from: string, to: string): Applier => async (root) => {
  await fs.promises.rename(at(root, from), at(root, to));
};

export const chtimes = (p: string, atime: Date, mtime: Date): Applier => async (root) => {
  await fs.promises.lutimes(at(root, p), atime, mtime);
};

export const setxattr = (p: string, name: string, value: string): Applier => async (root) => {
  await setXattr(at(root, p), name, value);
};

export const createDeviceNode = (p: string, type: 'c' | 'b', major: number, minor: number, mode: number): Applier => async (root) => {
  await mknod(at(root, p), type, major, minor, mode);
};

export const createFifo = (p: string, mode: number): Applier => async (root) => {
  await mkfifo(at(root, p), mode);
};

/** Runs appliers in order (fstest.Apply). */
export const apply = (...appliers: Applier[]): Applier => async (root) => {
  for (const a of appliers) await a(root);
};
