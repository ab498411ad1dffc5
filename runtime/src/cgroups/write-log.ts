/**
 * Every write that set() makes goes through a WriteLog, which remembers how to
 * undo it. Validation runs first and refuses what the host cannot do, but the
 * kernel can still refuse a value (a memory limit below the current usage:
 * EBUSY). Then the manager rolls the earlier writes back, newest first, so a
 * failed set() leaves the cgroup as it found it.
 */
import { readCgroupFileIfExists, writeCgroupFile } from './files';

interface Entry {
  dir: string;
  file: string;
  undo: string;
}

export class WriteLog {
  private readonly done: Entry[] = [];

  /**
   * Writes value to dir/file. `undo` is what restores the old state; when it is
   * omitted the file's current content is read first and written back on
   * rollback (right for single-value files: cpu.shares, memory.max, pids.max).
   * Pass null for writes that cannot be undone.
   */
  write(dir: string, file: string, value: string, undo?: string | null): void {
    if (undo === undefined) {
      const old = readCgroupFileIfExists(dir, file);
      undo = old !== undefined && old.trim() !== '' && !old.trim().includes('\n') ? old.trim() : null;
    }
    writeCgroupFile(dir, file, value);
    if (undo !== null) this.done.push({ dir, file, undo });
  }

  /** Restores what was written, newest first; returns the writes that could not be undone. */
  rollback(): string[] {
    const failed: string[] = [];
    for (const e of this.done.reverse()) {
      try {
        writeCgroupFile(e.dir, e.file, e.undo);
      } catch (err) {
        failed.push(`${e.file}: ${(err as Error).message}`);
      }
    }
    this.done.length = 0;
    return failed;
  }

  get count(): number {
    return this.done.length;
  }
}
