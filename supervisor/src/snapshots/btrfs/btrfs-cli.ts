/**
 * The btrfs ioctls Node cannot make, through the btrfs CLI (btrfs-progs), one
 * function per operation (containerd/btrfs btrfs.go).
 */
import { run, ToolError } from '../fsutil/exec';

export const BTRFS_SUPER_MAGIC = 0x9123683e;

export async function subvolCreate(p: string): Promise<void> {
  await run('btrfs', ['subvolume', 'create', p]);
}

/** A snapshot of the subvolume src at dst, read-only when readonly. */
export async function subvolSnapshot(src: string, dst: string, readonly: boolean): Promise<void> {
  await run('btrfs', ['subvolume', 'snapshot', ...(readonly ? ['-r'] : []), src, dst]);
}

export async function subvolDelete(p: string): Promise<void> {
  await run('btrfs', ['subvolume', 'delete', p]);
}

export async function setReadonly(p: string, ro: boolean): Promise<void> {
  await run('btrfs', ['property', 'set', '-ts', p, 'ro', String(ro)]);
}

/** The subvolume id of the subvolume p (what a "subvolid=" mount option names). */
export async function subvolId(p: string): Promise<number> {
  return parseInt((await run('btrfs', ['inspect-internal', 'rootid', p])).trim(), 10);
}

/** Whether p is the top of a subvolume (btrfs subvolumes have inode 256 at their root). */
export async function isSubvolume(p: string): Promise<boolean> {
  try {
    await run('btrfs', ['subvolume', 'show', p]);
    return true;
  } catch (err) {
    if (err instanceof ToolError) return false;
    throw err;
  }
}

/**
 * Exclusive bytes of the subvolume's level-0 qgroup, or undefined when quotas
 * are not enabled on the filesystem.
 */
export async function qgroupExclusive(p: string): Promise<number | undefined> {
  let out: string;
  try {
    out = await run('btrfs', ['qgroup', 'show', '--raw', '-f', p]);
  } catch {
    return undefined;
  }
  const id = await subvolId(p);
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === `0/${id}` && f.length >= 3) return parseInt(f[2], 10);
  }
  return undefined;
}
