/**
 * v2 freezer (opencontainers/cgroups fs2/freezer.go): write cgroup.freeze,
 * then wait until cgroup.events says "frozen 1" (the kernel freezes tasks
 * asynchronously), polling every 10 ms for up to 10 s.
 */
import { FailedPreconditionError, InternalError } from '../../../../proto/src/errdefs';
import { readCgroupFile, readCgroupFileIfExists, sleepSync, writeCgroupFile } from '../files';
import type { FreezerState } from '../manager';

function waitFrozen(dir: string, want: '0' | '1'): void {
  for (let i = 0; i < 1000; i++) {
    const m = /^frozen (\d)$/m.exec(readCgroupFile(dir, 'cgroup.events'));
    if (!m) throw new InternalError(`no "frozen" key in \`${dir}/cgroup.events\``);
    if (m[1] === want) return;
    sleepSync(10);
  }
  throw new FailedPreconditionError(`timeout of 10s reached waiting for \`${dir}\` to ${want === '1' ? 'freeze' : 'thaw'}`);
}

export function setFreezeV2(dir: string, freeze: boolean): void {
  if (readCgroupFileIfExists(dir, 'cgroup.freeze') === undefined) {
    if (!freeze) return;
    throw new FailedPreconditionError(`freezer not supported: \`${dir}/cgroup.freeze\` is absent (kernel < 5.2?)`);
  }
  writeCgroupFile(dir, 'cgroup.freeze', freeze ? '1' : '0');
  try {
    waitFrozen(dir, freeze ? '1' : '0');
  } catch (err) {
    if (freeze) writeCgroupFile(dir, 'cgroup.freeze', '0');
    throw err;
  }
}

export function freezerStateV2(dir: string): FreezerState {
  const v = readCgroupFileIfExists(dir, 'cgroup.freeze')?.trim();
  if (v === undefined) return 'unknown';
  if (v === '0') return 'thawed';
  if (v !== '1') throw new InternalError(`unknown "cgroup.freeze" state ${JSON.stringify(v)} in \`${dir}\``);
  waitFrozen(dir, '1');
  return 'frozen';
}
