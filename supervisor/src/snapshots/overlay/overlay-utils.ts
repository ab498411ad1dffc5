/**
 * Kernel feature checks for the overlay snapshotter (containerd
 * snapshots/overlay/overlayutils/check.go and overlay.go supportsIndex).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mount, unmountAll } from '../../mount/mount';

const TMPFS_MAGIC = 0x01021994;

/** Whether the kernel's overlay knows the "index" feature, so that "index=off" is accepted. */
export function supportsIndex(): boolean {
  return fs.existsSync('/sys/module/overlay/parameters/index');
}

/** Whether this process runs in a user namespace (not the initial one: uid_map is not the identity of all ids). */
export function runningInUserNS(): boolean {
  try {
    const line = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
    return !(line[0] === '0' && line[1] === '0' && line[2] === '4294967295');
  } catch {
    return false;
  }
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = os.release().split(/[.-]/).map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

/**
 * Whether "userxattr" is needed (overlayfs in a user namespace keeps its
 * whiteouts/opaque marks in user.overlay.* instead of trusted.overlay.*):
 * never as real root; not on tmpfs; kernels ≥ 5.11 have it; else probe with a mount.
 */
export async function needsUserXattr(root: string): Promise<boolean> {
  if (!runningInUserNS()) return false;
  if ((await fs.promises.statfs(root)).type === TMPFS_MAGIC) return false;
  if (kernelAtLeast(5, 11)) return true;
  const td = await fs.promises.mkdtemp(path.join(root, 'userxattr-check-'));
  try {
    for (const d of ['lower1', 'lower2', 'upper', 'work', 'merged']) await fs.promises.mkdir(path.join(td, d));
    const merged = path.join(td, 'merged');
    try {
      await mount(
        {
          type: 'overlay',
          source: 'overlay',
          options: [`lowerdir=${td}/lower2:${td}/lower1`, `upperdir=${td}/upper`, `workdir=${td}/work`, 'userxattr'],
        },
        merged,
      );
    } catch {
      return false;
    }
    await unmountAll(merged);
    return true;
  } finally {
    await fs.promises.rm(td, { recursive: true, force: true });
  }
}
