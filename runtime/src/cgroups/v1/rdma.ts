/**
 * rdma, v1 and v2 alike (opencontainers/cgroups fscommon/rdma.go): per HCA
 * device, "dev hca_handle=N hca_object=M" into rdma.max. A device must be
 * one the kernel lists in rdma.max.
 */
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller } from '../controller';
import { readCgroupFile, readCgroupFileIfExists } from '../files';
import type { CgroupStats, RdmaEntry } from '../stats';
import { checkInt } from '../validate';
import type { LinuxRdma } from '../../spec/types';

const cmd = (device: string, l: LinuxRdma): string =>
  device + (l.hcaHandles !== undefined ? ` hca_handle=${l.hcaHandles}` : '') + (l.hcaObjects !== undefined ? ` hca_object=${l.hcaObjects}` : '');

function entries(content: string): RdmaEntry[] {
  const out: RdmaEntry[] = [];
  const v = (kv: string): bigint => {
    const val = kv.split('=')[1];
    return val === 'max' ? 0xffff_ffffn : BigInt(val ?? '0');
  };
  for (const line of content.split('\n')) {
    const parts = line.split(' ');
    if (parts.length !== 3) continue;
    const e: RdmaEntry = { device: parts[0], hcaHandles: 0n, hcaObjects: 0n };
    for (const kv of parts.slice(1)) {
      if (kv.startsWith('hca_handle=')) e.hcaHandles = v(kv);
      else if (kv.startsWith('hca_object=')) e.hcaObjects = v(kv);
    }
    out.push(e);
  }
  return out;
}

export const rdma: Controller = {
  name: 'rdma',
  requested: (r) => (r.rdma && Object.keys(r.rdma).length ? 'rdma limits' : undefined),
  validate({ dir }, r) {
    const known = new Set(entries(readCgroupFile(dir, 'rdma.max')).map((e) => e.device));
    for (const [device, l] of Object.entries(r.rdma ?? {})) {
      if (l.hcaHandles !== undefined) checkInt(l.hcaHandles, `linux.resources.rdma.${device}.hcaHandles`, 0, 0xffff_ffff);
      if (l.hcaObjects !== undefined) checkInt(l.hcaObjects, `linux.resources.rdma.${device}.hcaObjects`, 0, 0xffff_ffff);
      if (!known.has(device)) throw new FailedPreconditionError(`cannot set rdma limits for ${JSON.stringify(device)}: no such RDMA device on this host`);
    }
  },
  set({ dir }, r, log) {
    const old = new Map(readCgroupFile(dir, 'rdma.max').split('\n').map((l) => [l.split(' ')[0], l] as const));
    for (const [device, l] of Object.entries(r.rdma ?? {})) log.write(dir, 'rdma.max', cmd(device, l), old.get(device) ?? null);
  },
  stats(dir: string, s: CgroupStats) {
    const current = readCgroupFileIfExists(dir, 'rdma.current');
    if (current === undefined) return;
    const cur = entries(current);
    const max = entries(readCgroupFile(dir, 'rdma.max'));
    if (cur.length !== max.length) return; // a device went away between the reads
    s.rdma = { limit: max, current: cur };
  },
};
