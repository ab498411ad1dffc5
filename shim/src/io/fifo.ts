/**
 * Opening the stdio paths containerd gives (pkg/process/io.go copyPipes,
 * containerd/fifo), without ever blocking the shim:
 *
 * - stdout/stderr: a FIFO is opened O_RDWR, which never waits for a reader
 *   and means writes never fail with EPIPE while the client is away (the
 *   shim's read side stands in for containerd's extra O_RDONLY open); a
 *   regular file is opened O_WRONLY|O_APPEND.
 * - stdin: opened O_RDONLY|O_NONBLOCK (open does not wait for a writer),
 *   plus a keep-alive O_WRONLY|O_NONBLOCK writer so that reads do not see
 *   EOF until CloseIO closes it and the client has closed its end too.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

const { O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK, O_APPEND } = fs.constants;
const O_CLOEXEC = 0o2000000;

export function isFifo(p: string): boolean {
  return fs.statSync(p).isFIFO();
}

/** A writable stream for a stdout/stderr path (FIFO or regular file). */
export function openOutput(p: string): net.Socket | fs.WriteStream {
  if (isFifo(p)) {
    const fd = fs.openSync(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    return new net.Socket({ fd, readable: false, writable: true });
  }
  const fd = fs.openSync(p, O_WRONLY | O_APPEND | O_CLOEXEC);
  return fs.createWriteStream('', { fd });
}

export interface StdinFifo {
  stream: net.Socket;
  /** The keep-alive writer's fd, closed by CloseIO. */
  keepAlive: number;
}

export function openStdin(p: string): StdinFifo {
  const fd = fs.openSync(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  let keepAlive: number;
  try {
    keepAlive = fs.openSync(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return { stream: new net.Socket({ fd, readable: true, writable: false }), keepAlive };
}
