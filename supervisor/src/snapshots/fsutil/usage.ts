/**
 * Disk usage of a tree as containerd's fs.DiskUsage: every inode counted once
 * (hard links share one), size = allocated blocks × 512.
 *
 * The walk uses synchronous lstat/readdir (a libuv round trip per entry took
 * ~250 ms for a 4040-entry tree; this walk ~19 ms; du -s ~10 ms — timed by
 * hand, median of 7, not in bench/) and yields to
 * the event loop every few hundred entries, so a big tree does not stall the daemon.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Usage } from '../snapshotter';

const YIELD_EVERY = 256;

export async function diskUsage(root: string): Promise<Usage> {
  const seen = new Set<bigint>();
  let size = 0;
  let inodes = 0;
  const stack = [root];
  for (let n = 1; stack.length > 0; n++) {
    const p = stack.pop() as string;
    const st = fs.lstatSync(p, { bigint: true });
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      inodes++;
      size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) stack.push(path.join(p, name));
    if (n % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
  }
  return { size, inodes };
}
