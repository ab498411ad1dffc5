/** Small readers of /proc used to tell a live init from a dead or reused pid. */
import * as fs from 'node:fs';

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or -1 if there is no such process. */
export function processStartTime(pid: number): number {
  const st = procStat(pid);
  return st ? Number(st[19]) : -1;
}

/** The process state letter (R, S, D, Z, T, ...), or undefined. */
export function processState(pid: number): string | undefined {
  return procStat(pid)?.[0];
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]. */
function procStat(pid: number): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces or ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Whether pid is alive and is still the process that started at startTime. */
export function isSameProcess(pid: number, startTime: number): boolean {
  if (pid <= 0) return false;
  const st = procStat(pid);
  if (!st || st[0] === 'Z' || st[0] === 'X') return false;
  return Number(st[19]) === startTime;
}
