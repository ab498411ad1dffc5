/**
 * Small checks shared by the controller files: integer ranges, cpu lists,
 * block devices. Each throws InvalidArgument naming the OCI field.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../../../proto/src/errdefs';

/** An integer in [min, max]; field is the OCI name ("linux.resources.cpu.shares"). */
export function checkInt(v: unknown, field: string, min: number, max: number = Number.MAX_SAFE_INTEGER * 2 ** 11): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidArgumentError(`${field}: ${JSON.stringify(v)} is not an integer`);
  if (v < min || v > max) throw new InvalidArgumentError(`${field}: ${v} is out of range [${min}, ${max}]`);
  return v;
}

/** The kernel's list format: "0-3,5,7-8". */
export function parseCpuList(s: string, field: string): number[] {
  const out: number[] = [];
  const t = s.trim();
  if (t === '') return out;
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`${field}: ${JSON.stringify(s)} is not a list like "0-3,5"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidArgumentError(`${field}: range ${part} runs backwards`);
    if (hi - lo > 65535) throw new InvalidArgumentError(`${field}: range ${part} is too large`);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** A block device major:minor that exists on this host (/sys/dev/block). */
export function checkBlockDevice(major: unknown, minor: unknown, field: string): string {
  checkInt(major, `${field}.major`, 0, 0xfff);
  checkInt(minor, `${field}.minor`, 0, 0xfffff);
  const id = `${major}:${minor}`;
  if (!fs.existsSync(`/sys/dev/block/${id}`)) throw new InvalidArgumentError(`${field}: no block device ${id} on this host`);
  return id;
}

/** Whether the disk (or, for a partition, its disk) is scheduled by BFQ: per-device weights need it. */
export function usesBfq(id: string): boolean {
  for (const q of [`/sys/dev/block/${id}/queue/scheduler`, `/sys/dev/block/${id}/../queue/scheduler`]) {
    try {
      return fs.readFileSync(q, 'utf8').includes('[bfq]');
    } catch {
      // try the parent
    }
  }
  return false;
}
