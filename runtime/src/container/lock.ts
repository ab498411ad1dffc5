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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Commands on one container from the same process (the shim uses the runtime
 * as a library) queue here first: the file lock below only tells processes apart.
 */
const queues = new Map<string, Promise<void>>();

export function lockPath(root: string, id: string): string {
  return path.join(root, `.${id}.lock`);
}

/** Takes the container's lock (in-process queue, then the lock file); resolves with its release. */
export async function lockContainer(root: string, id: string, timeoutMs = 10_000): Promise<() => void> {
  const key = lockPath(root, id);
  const previous = queues.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = previous.then(() => mine);
  queues.set(key, tail);
  await previous;
  let releaseFile: () => void;
  try {
    releaseFile = await acquireFileLock(key, id, timeoutMs);
  } catch (err) {
    done();
    if (queues.get(key) === tail) queues.delete(key);
    throw err;
  }
  return () => {
    releaseFile();
    done();
    if (queues.get(key) === tail) queues.delete(key);
  };
}

async function acquireFileLock(file: string, id: string, timeoutMs: number): Promise<() => void> {
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
    await sleep(5);
  }
}
