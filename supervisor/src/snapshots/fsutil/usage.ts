/**
 * Disk usage of a tree as containerd's fs.DiskUsage: every inode counted once
 * (hard links share one), size = allocated blocks × 512.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Usage } from '../snapshotter';

export async function diskUsage(root: string): Promise<Usage> {
  const seen = new Set<bigint>();
  let size = 0;
  let inodes = 0;
  const visit = async (p: string): Promise<void> => {
    const st = await fs.promises.lstat(p, { bigint: true });
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      inodes++;
      size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) {
      for (const name of await fs.promises.readdir(p)) await visit(path.join(p, name));
    }
  };
  await visit(root);
  return { size, inodes };
}
