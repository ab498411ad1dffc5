/**
 * Real, anonymous pipes for the container's stdio, as os.Pipe() gives
 * containerd's shim. Node only makes socketpairs (a socket as stdout breaks
 * `echo > /dev/stdout` in the container), so the native reaper makes the
 * pipe and the shim opens each end through /proc/REAPER/fd/N, which yields
 * a new open file description of the same pipe: readlink shows pipe:[N], and
 * O_NONBLOCK, which net.Socket sets on the shim's ends, stays off the ends
 * given to the container or a logger (a non-blocking stdout makes writers
 * fail with EAGAIN). Opening does not block: the reaper holds both ends
 * until the shim has opened its own.
 */
import * as fs from 'node:fs';
import type { ControlChannel } from '../native/channel';

const O_CLOEXEC = 0o2000000;

export interface Pipe {
  /** Read end. */
  r: number;
  /** Write end. */
  w: number;
}

/** A pipe whose ends are both blocking; chown'd to uid/gid for the container's end. */
export async function makePipe(native: ControlChannel, direction: 'in' | 'out', uid = 0, gid = 0): Promise<Pipe> {
  const held = await native.pipe();
  const reaperPid = native.reaperPid;
  try {
    const r = fs.openSync(`/proc/${reaperPid}/fd/${held.r}`, fs.constants.O_RDONLY | O_CLOEXEC);
    let w: number;
    try {
      w = fs.openSync(`/proc/${reaperPid}/fd/${held.w}`, fs.constants.O_WRONLY | O_CLOEXEC);
    } catch (err) {
      fs.closeSync(r);
      throw err;
    }
    if (uid || gid) fs.fchownSync(direction === 'in' ? r : w, uid, gid);
    return { r, w };
  } finally {
    await native.pipeClose(held.r, held.w);
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}
