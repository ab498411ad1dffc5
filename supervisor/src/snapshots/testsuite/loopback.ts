/**
 * Loop-device filesystems for the suite (containerd pkg/testutil loopback):
 * a sparse file, mkfs, losetup, mount — and a registry so that an afterAll can
 * detach every loop device this process attached, even after a failure.
 */
import * as fs from 'node:fs';
import { run } from '../fsutil/exec';
import { unmountAll } from '../../mount/mount';
import { mountsBelow } from '../fsutil/dirs';

const attached = new Set<string>();

export interface Loopback {
  device: string;
  file: string;
  /** Unmounts target (if mounted), detaches the device and removes the file. */
  release(): Promise<void>;
}

/** Makes a `size` sparse file, a `fstype` filesystem on it (mkfsArgs), attaches a loop device and mounts it on target. */
export async function mountLoopback(target: string, fstype: 'btrfs' | 'ext4' | 'xfs', size: string, mkfsArgs: string[] = []): Promise<Loopback> {
  const file = `${target}.img`;
  await run('truncate', ['-s', size, file]);
  await run(`mkfs.${fstype}`, [...mkfsArgs, file]);
  const device = (await run('losetup', ['--find', '--show', file])).trim();
  attached.add(device);
  const release = async (): Promise<void> => {
    if (mountsBelow(target).length > 0) await unmountAll(target);
    if (attached.has(device)) {
      await run('losetup', ['-d', device]);
      attached.delete(device);
    }
    await fs.promises.rm(file, { force: true });
  };
  try {
    await fs.promises.mkdir(target, { recursive: true });
    await run('mount', ['-t', fstype, device, target]);
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  return { device, file, release };
}

/** Detaches every loop device still attached by this process (an afterAll safety net). */
export async function detachAllLoopbacks(): Promise<void> {
  for (const device of [...attached]) {
    await run('losetup', ['-d', device]).catch(() => undefined);
    attached.delete(device);
  }
}

/** Why loop-device tests cannot run here, or undefined. */
export function loopbackSkipReason(tools: string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (losetup, mount)';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control';
  for (const t of tools) {
    if (!['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => fs.existsSync(`${d}/${t}`))) return `no ${t} (install its Debian package)`;
  }
  return undefined;
}
