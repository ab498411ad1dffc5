/**
 * update: change a running container's resources (runc update): from
 * -r FILE ("-" for stdin, a runtime-spec LinuxResources) or from flags. Only
 * what is given is written; the cgroup library validates all of it first and
 * writes nothing on a refusal. The new values are kept in the state.
 */
import { FailedPreconditionError, InvalidArgumentError } from '../../../proto/src/errdefs';
import { log } from '../logging';
import type { LinuxResources } from '../spec/types';
import { Container } from './container';
import { lockContainer } from './lock';

export async function updateContainer(root: string, id: string, r: LinuxResources): Promise<void> {
  const release = await lockContainer(root, id);
  try {
    const c = Container.load(root, id);
    if (c.status() === 'stopped') throw new FailedPreconditionError('cannot update a stopped container');
    if (r.memory?.kernel || r.memory?.kernelTCP) log.warn('Kernel memory settings are ignored and will be removed');
    c.cgroup().set(r);
    const linux = (c.state.config.linux ??= {});
    linux.resources = mergeResources(linux.resources ?? {}, r);
    c.save();
  } finally {
    release();
  }
}

/** What update changed, on top of what was there: objects are merged one level deep. */
function mergeResources(old: LinuxResources, r: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...old };
  for (const [k, v] of Object.entries(r)) {
    const prev = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' ? { ...prev, ...v } : v;
  }
  return out as LinuxResources;
}

/** docker/go-units RAMInBytes: "512", "100k", "1.5g", "64MiB" (binary multiples), or "-1". */
export function ramInBytes(value: string, flag: string): number {
  if (value === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp])?(i?b)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`invalid value for ${flag}: invalid size: '${value}'`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? '').toLowerCase()]!;
  return Math.floor(Number(m[1]) * unit);
}
