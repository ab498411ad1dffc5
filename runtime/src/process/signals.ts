/** Signal names and numbers as runc's kill parses them ("KILL", "SIGKILL", "9"). */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

export const signalNumbers: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31, SIGUNUSED: 31,
};

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** Parses a signal as runc does; unknown → `unknown signal "FOO"`. */
export function parseSignal(raw: string): number {
  const n = Number(raw);
  if (raw !== '' && Number.isInteger(n)) {
    if (n <= 0 || n > SIGRTMAX) throw new InvalidArgumentError(`unknown signal ${JSON.stringify(raw)}`);
    return n;
  }
  const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
  if (signalNumbers[name] !== undefined) return signalNumbers[name];
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const v = name.startsWith('SIGRTMIN') ? SIGRTMIN + off : SIGRTMAX - off;
    if (v >= SIGRTMIN && v <= SIGRTMAX) return v;
  }
  throw new InvalidArgumentError(`unknown signal ${JSON.stringify(raw)}`);
}

/** Name for a number, for process.kill (Node wants names for some signals, numbers work too). */
export function signalName(n: number): string {
  for (const [k, v] of Object.entries(signalNumbers)) if (v === n) return k;
  return String(n);
}
