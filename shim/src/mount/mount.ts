/**
 * Performs rootfs mounts and undoes them, through the one-shot native
 * helper (`berth-nsexec shim-mount`), since Node cannot call mount(2).
 * The policy (retries on EBUSY, unmount-until-EINVAL) lives here, as in
 * containerd's mount/mount_linux.go.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { errnoName } from '../native/channel';
import { nsexecPath } from '../native/paths';
import { mountCalls, type Mount, type MountCall } from './options';

const EINVAL = 22;
const EBUSY = 16;
const ENOENT = 2;

export class MountError extends Error {
  constructor(message: string, readonly errno: number) {
    super(message);
    this.name = 'MountError';
  }
}

type Op = MountCall | { kind: 'umount'; target: string; flags: number };

/** Runs the calls in order; rejects with the first failure's errno. */
function run(ops: Op[]): Promise<void> {
  const args = ['shim-mount'];
  for (const op of ops) {
    if (op.kind === 'mount') args.push('mount', op.chdir, op.source, op.target, op.fstype, String(op.flags), op.data);
    else args.push('umount', op.target, String(op.flags));
  }
  return new Promise((resolve, reject) => {
    execFile(nsexecPath(), args, (err, stdout, stderr) => {
      if (!err) return resolve();
      const m = /^fail (\d+) (\d+)/.exec(stdout);
      if (!m) return reject(new Error(`berth-nsexec shim-mount: ${stderr.trim() || err.message}`));
      const op = ops[Number(m[1])];
      const errno = Number(m[2]);
      const what = op.kind === 'mount'
        ? `mount ${op.fstype || '(remount)'} ${op.source} on ${op.target}`
        : `unmount ${op.target}`;
      reject(new MountError(`${what}: ${errnoName(errno)}`, errno));
    });
  });
}

/** Mounts `m` onto `target` (all of containerd Mount.Mount's calls in one helper run). */
export async function mount(m: Mount, target: string): Promise<void> {
  await run(mountCalls(m, target));
}

async function unmountOnce(target: string, flags: number): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await run([{ kind: 'umount', target, flags }]);
    } catch (err) {
      if (err instanceof MountError && err.errno === EBUSY && i < 50) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw err;
    }
  }
}

/** Unmounts everything stacked on `target` (containerd mount.UnmountAll). */
export async function unmountAll(target: string, flags = 0): Promise<void> {
  if (!target || !fs.existsSync(target)) return;
  for (;;) {
    try {
      await unmountOnce(target, flags);
    } catch (err) {
      if (err instanceof MountError && (err.errno === EINVAL || err.errno === ENOENT)) return;
      throw err;
    }
  }
}
