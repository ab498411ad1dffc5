/**
 * dmsetup (Debian package dmsetup), one function per operation (containerd
 * snapshots/devmapper/dmsetup/dmsetup.go). Every call goes through dmsetup(),
 * which maps the tool's "...failed: <strerror>" output to an errno name.
 */
import * as fs from 'node:fs';
import { execFile } from 'node:child_process';
import { InternalError } from '../../../../proto/src/errdefs';

export const SECTOR_SIZE = 512;
const LOW_WATER_MARK = 32768;

const ERRNO_TEXT: Record<string, string> = {
  'device or resource busy': 'EBUSY',
  'no such device or address': 'ENXIO',
  'no such file or directory': 'ENOENT',
  'invalid argument': 'EINVAL',
  'operation not permitted': 'EPERM',
  'no data available': 'ENODATA',
  'file exists': 'EEXIST',
  'no space left on device': 'ENOSPC',
};

export class DmsetupError extends InternalError {
  constructor(
    readonly args: string[],
    readonly output: string,
    readonly errno: string | undefined,
  ) {
    super(`dmsetup ${args.join(' ')}: ${errno ?? 'failed'}: ${output.trim()}`);
  }
}

/** The errno name in dmsetup output ("device-mapper: remove ioctl on X failed: Device or resource busy"). */
export function parseDmsetupError(output: string): string | undefined {
  const line = output.split('\n')[0] ?? '';
  if (line.trim().endsWith('not found')) return 'ENXIO';
  const i = line.lastIndexOf('failed: ');
  if (i === -1) return undefined;
  return ERRNO_TEXT[line.slice(i + 'failed: '.length).trim().toLowerCase()];
}

export function dmsetup(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dmsetup', args, { env: { ...process.env, DM_DISABLE_UDEV: '1' } }, (err, stdout, stderr) => {
      const out = `${stderr}${stdout}`;
      if (err) reject(new DmsetupError(args, out, parseDmsetupError(out)));
      else resolve(stdout.trim());
    });
  });
}

export const fullDevicePath = (name: string): string => (name.startsWith('/dev/') ? name : `/dev/mapper/${name}`);

/** Size in bytes of a regular file, or of a block device (blockdev --getsize64, BLKGETSIZE64). */
export async function blockDeviceSize(p: string): Promise<number> {
  const st = await fs.promises.stat(p);
  if (st.isFile()) return st.size;
  return new Promise((resolve, reject) =>
    execFile('blockdev', ['--getsize64', p], (err, stdout, stderr) =>
      err ? reject(new InternalError(`blockdev --getsize64 ${p}: ${stderr.trim()}`, { cause: err })) : resolve(parseInt(stdout.trim(), 10)),
    ),
  );
}

export async function createPool(pool: string, dataDev: string, metaDev: string, blockSizeSectors: number): Promise<void> {
  const sectors = Math.floor((await blockDeviceSize(dataDev)) / SECTOR_SIZE);
  await dmsetup('create', pool, '--table', `0 ${sectors} thin-pool ${metaDev} ${dataDev} ${blockSizeSectors} ${LOW_WATER_MARK} 1 skip_block_zeroing`);
}

export const createDevice = (pool: string, id: number): Promise<string> => dmsetup('message', pool, '0', `create_thin ${id}`);
export const createSnapshot = (pool: string, id: number, baseId: number): Promise<string> => dmsetup('message', pool, '0', `create_snap ${id} ${baseId}`);
export const deleteDevice = (pool: string, id: number): Promise<string> => dmsetup('message', pool, '0', `delete ${id}`);

export async function activateDevice(pool: string, name: string, id: number, sizeBytes: number): Promise<void> {
  await dmsetup('create', name, '--table', `0 ${Math.floor(sizeBytes / SECTOR_SIZE)} thin ${fullDevicePath(pool)} ${id}`);
}

export const suspendDevice = (name: string): Promise<string> => dmsetup('suspend', name);
export const resumeDevice = (name: string): Promise<string> => dmsetup('resume', name);

export async function removeDevice(name: string, opts: { force?: boolean; retry?: boolean; deferred?: boolean } = {}): Promise<void> {
  await dmsetup('remove', ...(opts.force ? ['--force'] : []), ...(opts.retry ? ['--retry'] : []), ...(opts.deferred ? ['--deferred'] : []), name);
}

/** Whether a device-mapper device of that name exists. */
export async function exists(name: string): Promise<boolean> {
  try {
    await dmsetup('info', name);
    return true;
  } catch (err) {
    if (err instanceof DmsetupError && (err.errno === 'ENXIO' || /not exist|not found/.test(err.output))) return false;
    throw err;
  }
}

/** Mapped bytes of a thin device ("0 <len> thin <mapped sectors> <highest>"). */
export async function thinUsage(name: string): Promise<number> {
  const f = (await dmsetup('status', name)).split(/\s+/);
  return f[2] === 'thin' ? parseInt(f[3], 10) * SECTOR_SIZE : 0;
}

/** Names of all device-mapper devices. */
export async function list(): Promise<string[]> {
  const out = await dmsetup('ls');
  if (/No devices found/i.test(out)) return [];
  return out.split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean);
}
