/**
 * v2 io (opencontainers/cgroups fs2/io.go). The OCI blockIO is v1-shaped:
 * weight goes to io.bfq.weight as is when BFQ is there, else to io.weight
 * converted [10,1000] → [1,10000] (runc's ConvertBlkIOToIOWeightValue);
 * per-device weights need BFQ's per-device support; throttles become io.max
 * "major:minor rbps=N" (wbps, riops, wiops). v2 has no leaf weight.
 */
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { convertBlkIOToIOWeightValue } from '../convert';
import { exists, readCgroupFile, readCgroupFileIfExists } from '../files';
import type { BlkioStatEntry, CgroupStats } from '../stats';
import { checkBlockDevice, checkInt, usesBfq } from '../validate';
import { blockIORequested, THROTTLES } from '../v1/blkio';

/** io.bfq.weight takes per-device weights when it reads "default N" rather than a bare number. */
function bfqDeviceWeightSupported(dir: string): boolean {
  const v = readCgroupFileIfExists(dir, 'io.bfq.weight');
  return v !== undefined && !/^\d+$/.test(v.trim());
}

/** io.max lines by device: "8:0 rbps=max wbps=max riops=max wiops=max". */
function ioMax(dir: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const line of (readCgroupFileIfExists(dir, 'io.max') ?? '').split('\n')) {
    const [dev, ...kvs] = line.split(' ');
    if (!dev) continue;
    out.set(dev, new Map(kvs.map((kv) => kv.split('=') as [string, string])));
  }
  return out;
}

export const io: Controller = {
  name: 'io',
  requested: (r) => (blockIORequested(r.blockIO) ? 'blockIO limits' : undefined),
  validate({ dir }, r) {
    const b = r.blockIO;
    if (!b) return;
    const hasBfq = exists(path.join(dir, 'io.bfq.weight'));
    if (b.weight) {
      checkInt(b.weight, 'linux.resources.blockIO.weight', 10, 1000);
      if (!hasBfq && !exists(path.join(dir, 'io.weight'))) {
        throw new FailedPreconditionError('cannot set linux.resources.blockIO.weight: neither io.bfq.weight (bfq scheduler) nor io.weight (io.cost) is available');
      }
    }
    if (b.leafWeight) throw new FailedPreconditionError('cannot set linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weight');
    (b.weightDevice ?? []).forEach((wd, i) => {
      const field = `linux.resources.blockIO.weightDevice[${i}]`;
      const id = checkBlockDevice(wd.major, wd.minor, field);
      if (wd.leafWeight) throw new FailedPreconditionError(`cannot set ${field}.leafWeight: cgroup v2 has no leaf weight`);
      if (wd.weight) {
        checkInt(wd.weight, `${field}.weight`, 1, 1000);
        if (!bfqDeviceWeightSupported(dir) || !usesBfq(id)) {
          throw new FailedPreconditionError(`cannot set ${field}: per-device weights need the bfq scheduler on ${id} (io.bfq.weight)`);
        }
      }
    });
    for (const [key] of THROTTLES) {
      (b[key] ?? []).forEach((td, i) => {
        const field = `linux.resources.blockIO.${key}[${i}]`;
        checkBlockDevice(td.major, td.minor, field);
        checkInt(td.rate, `${field}.rate`, 0, 2 ** 64);
        if (!exists(path.join(dir, 'io.max'))) throw new FailedPreconditionError(`cannot set ${field}: io.max is absent`);
      });
    }
  },
  set({ dir }, r, log) {
    const b = r.blockIO;
    if (!b) return;
    const hasBfq = exists(path.join(dir, 'io.bfq.weight'));
    if (b.weight) {
      if (hasBfq) log.write(dir, 'io.bfq.weight', String(b.weight), (readCgroupFile(dir, 'io.bfq.weight').split('\n')[0] ?? '').replace(/^default /, ''));
      else log.write(dir, 'io.weight', String(convertBlkIOToIOWeightValue(b.weight)), (readCgroupFile(dir, 'io.weight').split('\n')[0] ?? '').replace(/^default /, ''));
    }
    for (const wd of b.weightDevice ?? []) {
      if (wd.weight) log.write(dir, 'io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`, null);
    }
    const old = ioMax(dir);
    for (const [key, , name] of THROTTLES) {
      for (const td of b[key] ?? []) {
        const dev = `${td.major}:${td.minor}`;
        log.write(dir, 'io.max', `${dev} ${name}=${td.rate}`, `${dev} ${name}=${old.get(dev)?.get(name) ?? 'max'}`);
      }
    }
  },
  stats(dir: string, s: CgroupStats) {
    const content = readCgroupFileIfExists(dir, 'io.stat');
    if (content === undefined) return;
    const bytes: BlkioStatEntry[] = [];
    const ios: BlkioStatEntry[] = [];
    for (const line of content.split('\n')) {
      const [dev, ...kvs] = line.split(' ');
      const m = /^(\d+):(\d+)$/.exec(dev ?? '');
      if (!m) continue;
      const major = BigInt(m[1]);
      const minor = BigInt(m[2]);
      for (const kv of kvs) {
        const [k, v] = kv.split('=');
        const table = k === 'rbytes' || k === 'wbytes' ? bytes : k === 'rios' || k === 'wios' ? ios : undefined;
        if (!table || v === undefined) continue;
        table.push({ major, minor, op: k.startsWith('r') ? 'Read' : 'Write', value: BigInt(v) });
      }
    }
    s.blkio.ioServiceBytesRecursive = bytes;
    s.blkio.ioServicedRecursive = ios;
  },
};
