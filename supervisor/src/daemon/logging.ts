/**
 * berthd's one logging set-up: winston, text or JSON. The JSON form is
 * logrus-shaped (level, msg, time; "warning" for warn) like containerd's.
 * Components log through `log.child({ component })`; BERTH_TRACE=a,b turns
 * on debug for those components only.
 */
import * as winston from 'winston';

export type Logger = winston.Logger;

const levels = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** containerd's level names → winston's. */
function normalizeLevel(level: string): string {
  const l = level.toLowerCase();
  if (l === 'warning') return 'warn';
  if (l === 'fatal' || l === 'panic') return 'error';
  if (!(l in levels)) throw new Error(`unknown log level ${JSON.stringify(level)}`);
  return l;
}

const logrusJson = winston.format((info) => {
  const out = info as Record<string | symbol, unknown>;
  out.time = new Date().toISOString();
  out.msg = info.message;
  delete out.message;
  if (info.level === 'warn') out.level = 'warning';
  if (out.err instanceof Error) out.error = (out.err as Error).message, delete out.err;
  return info;
});

const textLine = winston.format.printf((info) => {
  const { level, message, timestamp: _t, ...rest } = info as Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`)
    .join(' ');
  return `time="${new Date().toISOString()}" level=${level === 'warn' ? 'warning' : level} msg=${JSON.stringify(message)}${fields ? ' ' + fields : ''}`;
});

const traced = new Set((process.env.BERTH_TRACE ?? '').split(',').map((s) => s.trim()).filter(Boolean));

/** Drops debug records unless the level allows them or the component is traced. */
function traceFilter(base: string) {
  return winston.format((info) => {
    const lvl = levels[info.level as keyof typeof levels] ?? 2;
    if (lvl <= levels[base as keyof typeof levels]) return info;
    const c = String((info as { component?: string }).component ?? '');
    for (const t of traced) if (c === t || c.startsWith(t + '.')) return info;
    return false;
  })();
}

export function createLogger(opts: { level: string; format: string; stream?: NodeJS.WritableStream }): Logger {
  const base = normalizeLevel(opts.level || 'info');
  if (opts.format !== 'text' && opts.format !== 'json' && opts.format !== '') {
    throw new Error(`unknown log format ${JSON.stringify(opts.format)} (text or json)`);
  }
  return winston.createLogger({
    levels,
    level: 'trace',
    format: winston.format.combine(traceFilter(base), opts.format === 'json' ? winston.format.combine(logrusJson(), winston.format.json()) : textLine),
    transports: [new winston.transports.Stream({ stream: opts.stream ?? process.stderr })],
  });
}

/** A logger that drops everything (library use and unit tests). */
export function nullLogger(): Logger {
  return winston.createLogger({ levels, silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
