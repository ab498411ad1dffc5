/**
 * One daemon per root: <root>/berthd.pid is created atomically (link of a
 * complete temp file, so no reader sees it half-written). A pid file whose
 * process is gone is stale and replaced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../../../proto/src/errdefs';

export interface RootLock {
  path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockRoot(root: string): RootLock {
  const file = path.join(root, 'berthd.pid');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return {
          path: file,
          release: () => {
            try {
              if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
            } catch {
              /* already gone */
            }
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const other = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
        if (Number.isInteger(other) && other > 0 && other !== process.pid && alive(other)) {
          throw new FailedPreconditionError(`root ${root} is in use by berthd (pid ${other})`);
        }
        fs.rmSync(file, { force: true }); // stale: its process is gone
      }
    }
    throw new FailedPreconditionError(`failed to lock root ${root}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
