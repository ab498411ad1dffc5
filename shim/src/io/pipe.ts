/**
 * Real pipes for the container's stdio. Node makes only socketpairs, and a
 * socket as stdout breaks `echo > /dev/stdout` inside the container, so the
 * shim asks its native parent for a FIFO in its private directory, opens both
 * ends and unlinks it: what is left is an anonymous pipe, as os.Pipe() gives
 * containerd's shim.
 *
 * The container's end is opened without O_NONBLOCK (the flag lives in the
 * shared file description; a non-blocking stdout makes writers fail with
 * EAGAIN). The shim's end is used through net.Socket, which sets its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ControlChannel } from '../native/channel';

const { O_RDONLY, O_WRONLY, O_NONBLOCK, O_CLOEXEC } = fs.constants as typeof fs.constants & { O_CLOEXEC: number };
const CLOEXEC = O_CLOEXEC ?? 0o2000000;

export interface Pipe {
  /** Read end. */
  r: number;
  /** Write end. */
  w: number;
}

let seq = 0;

/**
 * A pipe whose `r` (for direction 'in': the container reads) or `w` (for
 * 'out': the container writes) end is blocking.
 */
export async function makePipe(native: ControlChannel, dir: string, direction: 'in' | 'out', uid = 0, gid = 0): Promise<Pipe> {
  const p = path.join(dir, `p${process.pid}-${++seq}`);
  await native.mkfifo(p, 0o600);
  try {
    if (direction === 'out') {
      const r = fs.openSync(p, O_RDONLY | O_NONBLOCK | CLOEXEC);
      const w = fs.openSync(p, O_WRONLY | CLOEXEC); // a reader exists: does not block
      if (uid || gid) fs.fchownSync(w, uid, gid);
      return { r, w };
    }
    const probe = fs.openSync(p, O_RDONLY | O_NONBLOCK | CLOEXEC);
    const w = fs.openSync(p, O_WRONLY | O_NONBLOCK | CLOEXEC);
    const r = fs.openSync(p, O_RDONLY | CLOEXEC); // a writer exists: does not block
    fs.closeSync(probe);
    if (uid || gid) fs.fchownSync(r, uid, gid);
    return { r, w };
  } finally {
    fs.rmSync(p, { force: true });
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
