/**
 * Every write that set() makes goes through a WriteLog, which remembers how to
 * undo it. Validation runs first and refuses what the host cannot do, but the
 * kernel can still refuse a value (a memory limit below the current usage:
 * EBUSY). Then the manager rolls the earlier writes back, newest first, so a
 * failed set() leaves the cgroup as it found it.
 */
import { readCgroupFileIfExists, writeCgroupFile } from './files';

interface Undo {
  what: string;
  run: () => void;
}

export class WriteLog {
  private readonly undos: Undo[] = [];

  /**
   * Writes value to dir/file. `undo` is the value that restores the old state;
   * when omitted, the file's current content is read first and written back on
   * rollback (right for single-value files: cpu.shares, memory.max, pids.max).
   * Pass null for a write that cannot be undone.
   */
  write(dir: string, file: string, value: string, undo?: string | null): void {
    if (undo === undefined) {
      const old = readCgroupFileIfExists(dir, file)?.trim();
      undo = old !== undefined && old !== '' && !old.includes('\n') ? old : null;
    }
    writeCgroupFile(dir, file, value);
    if (undo !== null) {
      const u = undo;
      this.undos.push({ what: `${file} ← ${JSON.stringify(u)}`, run: () => writeCgroupFile(dir, file, u) });
    }
  }

  /** Registers an undo for a change made some other way (a device filter, a rule transition). */
  onRollback(what: string, run: () => void): void {
    this.undos.push({ what, run });
  }

  /** Restores what was written, newest first; returns the undos that failed. */
  rollback(): string[] {
    const failed: string[] = [];
    for (const u of this.undos.reverse()) {
      try {
        u.run();
      } catch (err) {
        failed.push(`${u.what}: ${(err as Error).message}`);
      }
    }
    this.undos.length = 0;
    return failed;
  }
}
