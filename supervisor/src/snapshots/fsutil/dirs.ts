/** Directory helpers every backend shares: root layout, temp dirs, safe removal, orphans. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';

/** Creates root (0700, as containerd) and its subdirectories. */
export async function makeRoot(root: string, subdirs: string[]): Promise<void> {
  await fs.promises.mkdir(root, { recursive: true, mode: 0o700 });
  for (const d of subdirs) await fs.promises.mkdir(path.join(root, d), { recursive: true, mode: 0o700 });
}

/**
 * A new temp directory "new-XXXXXX" in parent, mode 0755 whatever the umask
 * (the root of a fresh snapshot must be 0755: RootPermission).
 */
export async function tempDir(parent: string, mode = 0o755): Promise<string> {
  const td = fs.mkdtempSync(path.join(parent, 'new-'));
  fs.chmodSync(td, mode);
  return td;
}

/** Mount points at or below p, from /proc/self/mountinfo. */
export function mountsBelow(p: string): string[] {
  const abs = path.resolve(p);
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === abs || mp.startsWith(abs + '/')) out.push(mp);
  }
  return out;
}

/** rm -rf that refuses to cross into a mount (never delete below a mounted dir). */
export async function removeTree(p: string): Promise<void> {
  if (!p) return;
  const mounted = mountsBelow(p);
  if (mounted.length > 0) {
    throw new FailedPreconditionError(`refusing to remove ${JSON.stringify(p)}: ${JSON.stringify(mounted[0])} is mounted below it`);
  }
  await fs.promises.rm(p, { recursive: true, force: true });
}

/**
 * Removes entries of dir whose name is not a live snapshot id (containerd
 * getCleanupDirectories): leftovers of a crash (new-*, rm-*) or a lost record.
 */
export async function cleanupOrphans(dir: string, ids: Map<string, string>, remove: (p: string) => Promise<void>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.promises.readdir(dir)) {
    if (ids.has(name)) continue;
    const p = path.join(dir, name);
    await remove(p);
    removed.push(p);
  }
  return removed;
}

/**
 * rename(src, dst) for a new snapshot dir; when dst exists (an orphan left by
 * a crash between a rename and its metadata commit, whose id is handed out
 * again), the orphan is moved aside and removed first.
 */
export async function renameInto(src: string, dst: string, remove: (p: string) => Promise<void> = removeTree): Promise<void> {
  try {
    fs.renameSync(src, dst); // one syscall: cheaper than a thread-pool round trip
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    const aside = path.join(path.dirname(dst), `rm-orphan-${path.basename(dst)}-${process.pid}-${Date.now()}`);
    await fs.promises.rename(dst, aside);
    await remove(aside);
    await fs.promises.rename(src, dst);
  }
}
