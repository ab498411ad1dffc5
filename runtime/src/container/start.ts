/**
 * start: release a created container's init (runtime-spec "start"): open the
 * exec fifo for reading — the init is blocked opening its write end — take
 * its one byte, wait until it has exec'd the user's process (EOF on the fifo),
 * remove the fifo, then run the poststart hooks.
 */
import * as fs from 'node:fs';
import { FailedPreconditionError } from '../../../proto/src/errdefs';
import { log } from '../logging';
import { runHooks } from '../process/hooks';
import { Container } from './container';
import { lockContainer } from './lock';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startContainer(root: string, id: string): Promise<Container> {
  const release = await lockContainer(root, id);
  try {
    const c = Container.load(root, id);
    const status = c.status();
    if (status === 'stopped') throw new FailedPreconditionError('cannot start a container that has stopped');
    if (status !== 'created') throw new FailedPreconditionError(`cannot start an already ${status} container`);
    await releaseInit(c);
    try {
      runHooks('poststart', c.state.config.hooks?.poststart, c.hookState('running'));
    } catch (err) {
      // runtime-spec: a failing poststart hook is logged, and the lifecycle goes on.
      log.warn('poststart hook failed', { id, err });
    }
    return c;
  } finally {
    release();
  }
}

async function releaseInit(c: Container): Promise<void> {
  // O_NONBLOCK: opening never blocks; an init that died meanwhile is noticed below.
  const fd = fs.openSync(c.fifoPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    const readByte = (): boolean => {
      try {
        return fs.readSync(fd, buf, 0, 1, null) === 1;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        return false;
      }
    };
    while (!readByte()) {
      // A fast process may write its byte, exec and exit between our read and this check:
      // look in the fifo once more before calling it dead.
      if (!c.initAlive()) {
        if (readByte()) break;
        throw new FailedPreconditionError('cannot start container: its init process is already dead');
      }
      await sleep(1);
    }
    // The init keeps its end open until it execs the user's process (after the
    // startContainer hooks): EOF means "executed", which poststart must wait for.
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, 1, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        if (!c.initAlive()) break;
        await sleep(1);
        continue;
      }
      if (n === 0) break;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.rmSync(c.fifoPath, { force: true });
}
