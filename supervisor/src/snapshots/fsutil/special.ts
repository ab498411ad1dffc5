/** Special files Node cannot make itself: device nodes and fifos (coreutils mknod/mkfifo). */
import { run } from './exec';

export async function mknod(p: string, type: 'c' | 'b', major: number, minor: number, mode: number): Promise<void> {
  await run('mknod', ['-m', (mode & 0o7777).toString(8), '--', p, type, String(major), String(minor)]);
}

/** One or several FIFOs with `mode` (several: one mkfifo process for all). */
export async function mkfifo(p: string | string[], mode: number): Promise<void> {
  await run('mkfifo', ['-m', (mode & 0o7777).toString(8), '--', ...(Array.isArray(p) ? p : [p])]);
}

/** major/minor of a Linux dev_t (glibc gnu_dev_major/minor). */
export const major = (dev: number): number => ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
export const minor = (dev: number): number => (dev & 0xff) | ((dev >>> 12) & ~0xff);
