/**
 * v1 blkio (opencontainers/cgroups fs/blkio.go): proportional weight (CFQ's
 * blkio.weight or BFQ's blkio.bfq.weight, whichever the kernel has), leaf
 * weight (CFQ only), per-device weights, and read/write bps/iops throttling.
 */
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { exists, readCgroupFileIfExists } from '../files';
import type { BlkioStatEntry, CgroupStats } from '../stats';
import { checkBlockDevice, checkInt, usesBfq } from '../validate';
import type { WriteLog } from '../write-log';
import type { LinuxBlockIO, LinuxThrottleDevice } from '../../spec/types';

export const THROTTLES = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device', 'rbps'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device', 'wbps'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device', 'riops'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device', 'wiops'],
] as const;

function weightFiles(dir: string): { weight: string; weightDevice: string } {
  return exists(path.join(dir, 'blkio.weight'))
    ? { weight: 'blkio.weight', weightDevice: 'blkio.weight_device' }
    : { weight: 'blkio.bfq.weight', weightDevice: 'blkio.bfq.weight_device' };
}

/** The "major:minor value" lines of a per-device file, by device. */
function deviceLines(dir: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (readCgroupFileIfExists(dir, file) ?? '').split('\n')) {
    const m = /^(\d+:\d+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

export function blockIORequested(b: LinuxBlockIO | undefined): boolean {
  return (
    !!b &&
    (!!b.weight || !!b.leafWeight || !!b.weightDevice?.length || THROTTLES.some(([k]) => (b[k] as LinuxThrottleDevice[] | undefined)?.length))
  );
}

function requireFile(dir: string, file: string, field: string, why: string): void {
  if (!exists(path.join(dir, file))) throw new FailedPreconditionError(`cannot set ${field}: ${why} (${file} is absent)`);
}

export const blkio: Controller = {
  name: 'blkio',
  requested: (r) => (blockIORequested(r.blockIO) ? 'blockIO limits' : undefined),
  validate({ dir }, r) {
    const b = r.blockIO;
    if (!b) return;
    const f = weightFiles(dir);
    if (b.weight) {
      checkInt(b.weight, 'linux.resources.blockIO.weight', 10, 1000);
      requireFile(dir, f.weight, 'linux.resources.blockIO.weight', 'no I/O scheduler with proportional weights (cfq or bfq) on this host');
    }
    if (b.leafWeight) {
      checkInt(b.leafWeight, 'linux.resources.blockIO.leafWeight', 10, 1000);
      requireFile(dir, 'blkio.leaf_weight', 'linux.resources.blockIO.leafWeight', 'leaf weights need the cfq scheduler');
    }
    (b.weightDevice ?? []).forEach((wd, i) => {
      const field = `linux.resources.blockIO.weightDevice[${i}]`;
      const id = checkBlockDevice(wd.major, wd.minor, field);
      if (wd.weight) {
        checkInt(wd.weight, `${field}.weight`, 10, 1000);
        requireFile(dir, f.weightDevice, field, 'no per-device weights on this host');
        if (f.weightDevice === 'blkio.bfq.weight_device' && !usesBfq(id)) {
          throw new FailedPreconditionError(`cannot set ${field}: per-device weights need the bfq scheduler on ${id}`);
        }
      }
      if (wd.leafWeight) {
        checkInt(wd.leafWeight, `${field}.leafWeight`, 10, 1000);
        requireFile(dir, 'blkio.leaf_weight_device', field, 'leaf weights need the cfq scheduler');
      }
    });
    for (const [key, file] of THROTTLES) {
      (b[key] ?? []).forEach((td, i) => {
        const field = `linux.resources.blockIO.${key}[${i}]`;
        checkBlockDevice(td.major, td.minor, field);
        checkInt(td.rate, `${field}.rate`, 0, 2 ** 64);
        requireFile(dir, file, field, 'no blk-throttle in this kernel');
      });
    }
  },
  set({ dir }, r, log) {
    const b = r.blockIO;
    if (!b) return;
    const f = weightFiles(dir);
    if (b.weight) log.write(dir, f.weight, String(b.weight));
    if (b.leafWeight) log.write(dir, 'blkio.leaf_weight', String(b.leafWeight));
    for (const wd of b.weightDevice ?? []) {
      const id = `${wd.major}:${wd.minor}`;
      if (wd.weight) writeDevice(dir, f.weightDevice, id, String(wd.weight), log);
      if (wd.leafWeight) writeDevice(dir, 'blkio.leaf_weight_device', id, String(wd.leafWeight), log);
    }
    for (const [key, file] of THROTTLES) {
      for (const td of b[key] ?? []) writeDevice(dir, file, `${td.major}:${td.minor}`, String(td.rate), log);
    }
  },
  stats(dir: string, s: CgroupStats) {
    blkioStats(dir, s);
  },
};

/** Writes "major:minor value"; undoes to the old value, or 0 (no limit) when there was none. */
function writeDevice(dir: string, file: string, id: string, value: string, log: WriteLog): void {
  const old = deviceLines(dir, file).get(id);
  log.write(dir, file, `${id} ${value}`, `${id} ${old ?? '0'}`);
}

/** blkio.* stat files: "major:minor Op value" lines plus a "Total" line. */
function readBlkioStat(dir: string, file: string): BlkioStatEntry[] | undefined {
  const content = readCgroupFileIfExists(dir, file);
  if (content === undefined) return undefined;
  const out: BlkioStatEntry[] = [];
  for (const line of content.split('\n')) {
    const f = line.split(/[ :]/).filter(Boolean);
    if (f.length < 3) continue; // "Total N" or empty
    const op = f.length === 4 ? f[2] : '';
    out.push({ major: BigInt(f[0]), minor: BigInt(f[1]), op, value: BigInt(f[f.length === 4 ? 3 : 2]) });
  }
  return out;
}

type BlkioKey = keyof CgroupStats['blkio'];

/**
 * runc's order: the first group whose first file exists wins (bfq debug,
 * bfq, cfq, throttle recursive, throttle).
 */
const STAT_GROUPS: Array<Array<[string, BlkioKey]>> = [
  [
    ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
    ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.sectors_recursive', 'sectorsRecursive'],
    ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_queued_recursive', 'ioQueuedRecursive'],
    ['blkio.time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ],
];

function blkioStats(dir: string, s: CgroupStats): void {
  // As runc: a group whose first file is missing or empty is skipped; a later
  // file missing or empty ends the search with what was read.
  for (const group of STAT_GROUPS) {
    for (let i = 0; i < group.length; i++) {
      const [file, key] = group[i];
      const v = readBlkioStat(dir, file);
      if (v === undefined || v.length === 0) {
        if (i === 0) break;
        return;
      }
      s.blkio[key] = v;
      if (i === group.length - 1) return;
    }
  }
}
