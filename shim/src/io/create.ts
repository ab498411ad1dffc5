/** Picks a process's ProcessIO from its stdio (containerd pkg/process/io.go createIO). */
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import type { ControlChannel } from '../native/channel';
import { BinaryIO } from './binary';
import { PipeIO } from './pipe-io';
import { isNull, scheme, type ProcessIO, type Stdio } from './process-io';
import { ConsoleIO } from './pty';

export interface IOContext {
  native: ControlChannel;
  /** The shim's private directory (FIFOs, console sockets). */
  dir: string;
  namespace: string;
  ioUid: number;
  ioGid: number;
}

/** undefined: no stdio at all; the runtime gives the process /dev/null. */
export async function createIO(ctx: IOContext, id: string, stdio: Stdio): Promise<ProcessIO | undefined> {
  if (stdio.terminal) return ConsoleIO.create(ctx.native, ctx.dir, stdio, id, ctx.namespace);
  if (isNull(stdio)) return undefined;
  const s = scheme(stdio.stdout);
  switch (s) {
    case 'fifo':
      return PipeIO.create(ctx.native, stdio, ctx.ioUid, ctx.ioGid);
    case 'binary':
      return BinaryIO.create(ctx.native, stdio.stdout, id, ctx.namespace);
    case 'file': {
      const file = decodeURIComponent(new URL(stdio.stdout).pathname);
      return PipeIO.create(ctx.native, { ...stdio, stdout: file, stderr: file }, ctx.ioUid, ctx.ioGid, file);
    }
    default:
      throw new InvalidArgumentError(`unknown STDIO scheme ${s}`);
  }
}
