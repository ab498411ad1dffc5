/**
 * Performs Mount data (containerd mount/mount_linux.go). Node cannot call
 * mount(2), so this drives util-linux mount(8)/umount(8); the kernel sees the
 * same mount(2) call containerd makes.
 *
 * Long overlay lowerdir lists: mount data is limited to one page. Like
 * containerd's compactLowerdirOption, when the options get near that limit the
 * mount runs with its working directory at the common parent of the lower dirs
 * and passes short relative lowerdir paths (the kernel resolves them against
 * the caller's cwd).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { InternalError, InvalidArgumentError } from '../../../proto/src/errdefs';
import type { Mount } from './types';

const execFileP = promisify(execFile);

export const PAGE_SIZE = 4096;

/** An error from mount(8)/umount(8), with the tool's own message. */
export class MountError extends InternalError {
  constructor(
    message: string,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const optionsSize = (opts: string[]): number => opts.reduce((n, o) => n + o.length + 1, 0);

/**
 * Splits overlay options into [workingDir, options with relative lowerdirs]
 * (containerd compactLowerdirOption); ["", opts] when nothing is gained.
 */
export function compactLowerdirOption(opts: string[]): [string, string[]] {
  const idx = opts.findIndex((o) => o.startsWith('lowerdir='));
  if (idx === -1) return ['', opts];
  const dirs = opts[idx].slice('lowerdir='.length).split(':');
  if (dirs.length === 1) return ['', opts];
  let common = dirs[0];
  for (const d of dirs.slice(1)) {
    let i = 0;
    while (i < common.length && i < d.length && common[i] === d[i]) i++;
    common = common.slice(0, i);
  }
  // Snapshot ids are digits: step back to a whole directory (…/snapshots/1 vs …/snapshots/12).
  common = path.dirname(common + 'x');
  if (common === '/' || common === '.' || common === '') return ['', opts];
  const prefix = common + '/';
  if (!dirs.every((d) => d.startsWith(prefix))) return ['', opts];
  const rest = opts.filter((_, i) => i !== idx);
  return [common, [...rest, `lowerdir=${dirs.map((d) => d.slice(prefix.length)).join(':')}`]];
}

/** The mount(8) argv and working directory for one Mount onto target. */
export function mountCommand(m: Mount, target: string): { args: string[]; cwd?: string } {
  let opts = m.options.filter((o) => o !== '');
  let cwd: string | undefined;
  const isBind = m.type === 'bind' || opts.includes('bind') || opts.includes('rbind');
  if (m.type === 'overlay' && optionsSize(opts) >= PAGE_SIZE - 512) {
    const [dir, compact] = compactLowerdirOption(opts);
    if (dir) {
      cwd = dir;
      opts = compact;
    }
  }
  if (m.type === 'overlay' && optionsSize(opts) >= PAGE_SIZE) {
    throw new InvalidArgumentError(`overlay mount options are ${optionsSize(opts)} bytes, more than a page even compacted`);
  }
  if (isBind && !opts.includes('bind') && !opts.includes('rbind')) opts = ['rbind', ...opts];
  const args = isBind ? [] : ['-t', m.type];
  args.push('--no-mtab', '-n');
  if (opts.length > 0) args.push('-o', opts.join(','));
  args.push(m.source, target);
  return { args, cwd };
}

/** Mounts one Mount onto target. */
export async function mount(m: Mount, target: string): Promise<void> {
  const { args, cwd } = mountCommand(m, target);
  try {
    await execFileP('mount', args, { cwd });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new MountError(`failed to mount ${m.type} ${JSON.stringify(m.source)} on ${JSON.stringify(target)}: ${stderr}`, stderr, {
      cause: err,
    });
  }
}

/** Mounts every Mount onto target, in order (mount.All). */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  for (const m of mounts) await mount(m, m.target ? path.join(target, m.target) : target);
}

/** Whether path is a mount point (from /proc/self/mountinfo). */
export function isMountPoint(p: string): boolean {
  const abs = path.resolve(p);
  const info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && unescapeMountPath(f[4]) === abs) return true;
  }
  return false;
}

const unescapeMountPath = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Unmounts target once; EINVAL "not mounted" is not an error. Retries EBUSY briefly. */
export async function unmount(target: string, opts: { lazy?: boolean } = {}): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await execFileP('umount', [...(opts.lazy ? ['-l'] : []), '-n', target]);
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
      if (/not mounted|no mount point specified|not found/i.test(stderr)) return;
      if (/busy/i.test(stderr) && attempt < 50) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw new MountError(`failed to unmount ${JSON.stringify(target)}: ${stderr}`, stderr, { cause: err });
    }
  }
}

/** Unmounts everything stacked on target (mount.UnmountAll). */
export async function unmountAll(target: string, opts: { lazy?: boolean } = {}): Promise<void> {
  for (let i = 0; i < 64 && isMountPoint(target); i++) await unmount(target, opts);
}

/** Options of a read-only variant (containerd mount.readonlyMounts): overlay loses its upper dir. */
export function readonlyMounts(mounts: Mount[]): Mount[] {
  return mounts.map((m) => {
    if (m.type === 'overlay') {
      return { ...m, options: [...m.options.filter((o) => !o.startsWith('upperdir=') && !o.startsWith('workdir=') && o !== 'rw'), 'ro'] };
    }
    return { ...m, options: [...m.options.filter((o) => o !== 'rw' && o !== 'ro'), 'ro'] };
  });
}

/**
 * Mounts `mounts` on a fresh temp dir, runs fn with it and always unmounts and
 * removes the dir after (mount.WithTempMount).
 */
export async function withTempMount<T>(mounts: Mount[], fn: (root: string) => Promise<T>, opts: { readonly?: boolean } = {}): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(process.env.BERTH_MOUNT_TMP ?? os.tmpdir(), 'berth-mount-'));
  let result: T;
  try {
    await mountAll(opts.readonly ? readonlyMounts(mounts) : mounts, dir);
    result = await fn(dir);
  } catch (err) {
    await unmountAll(dir).catch(() => unmountAll(dir, { lazy: true }));
    await fs.promises.rmdir(dir).catch(() => undefined);
    throw err;
  }
  try {
    await unmountAll(dir);
  } catch (err) {
    // Never leave a mount behind a removed dir: detach lazily, then report.
    await unmountAll(dir, { lazy: true });
    await fs.promises.rmdir(dir).catch(() => undefined);
    throw err;
  }
  await fs.promises.rmdir(dir);
  return result;
}
