/**
 * `containerd-shim-berth-v2 delete` (the manager's Stop): containerd runs it
 * after a shim died, in the bundle. It force-deletes the runtime container,
 * unmounts the rootfs and prints a DeleteResponse for containerd to publish
 * (exit status 137: the container was killed with its shim).
 */
import * as path from 'node:path';
import type { Flags } from './flags';
import { unmountAll } from './mount/mount';
import { defaultBinary, defaultRoot, readOptions } from './options';
import { shimRoot } from './protos';
import { readPidFile, INIT_PID_FILE } from './process/init';
import { runtimeClient } from './runtime-client';
import { now } from './timestamp';

const SIGKILL = 9;

export async function del(flags: Flags): Promise<Uint8Array> {
  const bundle = flags.bundle || process.cwd();
  const opts = readOptions(bundle);
  const runtime = runtimeClient({
    binary: opts?.binaryName ?? defaultBinary(),
    root: path.join(opts?.root ?? defaultRoot(), flags.namespace),
    log: path.join(bundle, 'log.json'),
    systemdCgroup: opts?.systemdCgroup,
  });
  try {
    await runtime.delete(flags.id, { force: true });
  } catch (err) {
    process.stderr.write(`failed to remove runc container: ${(err as Error).message}\n`);
  }
  try {
    await unmountAll(path.join(bundle, 'rootfs'));
  } catch (err) {
    process.stderr.write(`failed to cleanup rootfs mount: ${(err as Error).message}\n`);
  }
  let pid = 0;
  try {
    pid = readPidFile(path.join(bundle, INIT_PID_FILE));
  } catch (err) {
    process.stderr.write(`failed to read init pid file: ${(err as Error).message}\n`);
  }
  const t = shimRoot().lookupType('containerd.task.v2.DeleteResponse');
  return t.encode(t.fromObject({ pid, exitStatus: 128 + SIGKILL, exitedAt: now() })).finish();
}
