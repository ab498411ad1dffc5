/**
 * A per-container lock against concurrent commands on the same id.
 *
 * Node has no flock(2), so the lock is a file created with O_EXCL holding the
 * owner's pid and start time; a lock whose owner is gone (or whose pid was
 * reused) is stale and is taken over. Waiting is bounded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnavailableError } from '../../../proto/src/errdefs';
import { processStartTime } from './proc';

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function lockPath(root: string, id: string): string {
  return path.join(root, `.${id}.lock`);
}

export function acquireLock(root: string, id: string, timeoutMs = 10_000): () => void {
  const file = lockPath(root, id);
  const me = `${process.pid}:${processStartTime(process.pid)}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
      fs.writeSync(fd, me);
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8') === me) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = '';
    try {
      owner = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // released between our open and read
    }
    const [pid, start] = owner.split(':').map(Number);
    if (!pid || processStartTime(pid) !== start) {
      // The owner died without releasing it (or the file is torn): take it over.
      try {
        if (fs.readFileSync(file, 'utf8') === owner) fs.unlinkSync(file);
      } catch {
        /* someone else did */
      }
      continue;
    }
    if (Date.now() > deadline) throw new UnavailableError(`container ${id} is locked by another command (pid ${pid})`);
    sleep(5);
  }
}
