/**
 * The snapshots/diff logger. Modules log through `log()` (constant lowercase
 * messages, data in metadata, as STYLE §2.5); berthd hands its root logger in
 * once with setLogger(root.child({component: 'snapshots'})). Until then
 * nothing is printed (a library does not configure logging).
 */
import * as winston from 'winston';

let current: winston.Logger = winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });

export function setLogger(l: winston.Logger): void {
  current = l;
}

/** A child logger for one component ("snapshots.overlay", "diff"). */
export function log(component: string): winston.Logger {
  return current.child({ component });
}

/** A catch handler that logs a failed best-effort step instead of dropping it. */
export const warnOnError = (component: string, msg: string, meta: Record<string, unknown> = {}) => (err: unknown): void => {
  log(component).warn(msg, { ...meta, err: err instanceof Error ? err.message : String(err) });
};
