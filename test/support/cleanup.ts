/**
 * Test cleanup that runs even when a test fails: containers are deleted by
 * force, processes killed, cgroups removed, mounts below a temp dir unmounted
 * (deepest first) before the dir is removed with --one-file-system, so a
 * runtime bug can never make a test delete host files through a mount.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

type Undo = () => void;

const undos: Undo[] = [];

export const track = {
  /** A temp dir: unmount everything below it, then remove it. */
  dir(dir: string): void {
    undos.push(() => removeDir(dir));
  },
  pid(pid: number): void {
    undos.push(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    });
  },
  /** Any undo step; the most recent runs first. */
  add(fn: Undo): void {
    undos.push(fn);
  },
};

/** Runs every recorded undo, newest first. Call from afterEach/afterAll. */
export function cleanupAll(): void {
  while (undos.length > 0) {
    const fn = undos.pop()!;
    try {
      fn();
    } catch (err) {
      process.stderr.write(`cleanup step failed: ${(err as Error).message}\n`);
    }
  }
}

/** Mount points at or below dir, deepest first (from /proc/self/mountinfo). */
export function mountsBelow(dir: string): string[] {
  const real = fs.existsSync(dir) ? fs.realpathSync(dir) : dir;
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === real || m.startsWith(real + '/')))
    .map((m) => m.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
}

export function removeDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const m of mountsBelow(dir)) spawnSync('umount', ['-l', m]);
  const left = mountsBelow(dir);
  if (left.length > 0) throw new Error(`refusing to remove ${dir}: still mounted below it: ${left.join(', ')}`);
  spawnSync('rm', ['-rf', '--one-file-system', dir]);
}

/**
 * rmdir of each cgroup dir (relative to a hierarchy's root, in the order
 * given: children first) in every mounted hierarchy; one that is absent or
 * still in use stays. For the /<namespace> parents ctr's cgroupsPath
 * /<ns>/<id> leaves, which the runtimes (like containerd) do not remove.
 */
export function removeEmptyCgroups(...dirs: string[]): void {
  const hierarchies = fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup') : [];
  for (const h of hierarchies) {
    for (const d of dirs) {
      try {
        fs.rmdirSync(`/sys/fs/cgroup/${h}/${d}`);
      } catch {
        // absent, busy, or not a hierarchy
      }
    }
  }
}
