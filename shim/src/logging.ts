/**
 * The shim's logger, configured once per process.
 *
 * The shim's stderr is the `log` FIFO containerd reads and copies into its
 * own log, so lines use logrus' text format (`time="…" level=info msg="…"
 * key=value`), like containerd-shim-runc-v2's. Messages are constant text;
 * values go in fields. Writes are synchronous and never throw: while
 * containerd is down the FIFO has no reader and a line is dropped (EPIPE or
 * EAGAIN) instead of killing the shim.
 *
 * This is deliberately not winston: one shim runs per container, and
 * winston's load costs ~10 MB of RSS and ~120 ms per shim (measured with
 * node 20), more than the whole rest of the shim.
 */
import * as fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const NAME: Record<Level, string> = { debug: 'debug', info: 'info', warn: 'warning', error: 'error' };

export type Fields = Record<string, unknown>;

let minRank = RANK.info;
let fd = 2;
/** Per-component debug from BERTH_TRACE=shim.io,shim.events (like GRPC_TRACE). */
let traced = new Set<string>();

export function configure(opts: { level?: Level; fd?: number; trace?: string }): void {
  if (opts.level) minRank = RANK[opts.level];
  if (opts.fd !== undefined) fd = opts.fd;
  if (opts.trace !== undefined) traced = new Set(opts.trace.split(',').map((s) => s.trim()).filter(Boolean));
}

function quote(v: string): string {
  return /^[A-Za-z0-9_./:@+-]+$/.test(v) ? v : JSON.stringify(v);
}

function render(v: unknown): string {
  if (v instanceof Error) return quote(v.message);
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return quote(JSON.stringify(v));
  } catch {
    return quote(String(v));
  }
}

export class Logger {
  constructor(private readonly fields: Fields = {}) {}

  child(fields: Fields): Logger {
    return new Logger({ ...this.fields, ...fields });
  }

  debug(msg: string, fields?: Fields): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: Fields): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: Fields): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: Fields): void { this.log('error', msg, fields); }

  private log(level: Level, msg: string, fields?: Fields): void {
    if (RANK[level] < minRank) {
      const c = fields?.component ?? this.fields.component; // bound to the logger or given with the line
      if (level !== 'debug' || typeof c !== 'string' || !traced.has(c)) return;
    }
    let line = `time="${new Date().toISOString()}" level=${NAME[level]} msg=${JSON.stringify(msg)}`;
    for (const [k, v] of Object.entries({ ...this.fields, ...fields })) {
      if (v !== undefined) line += ` ${k === 'err' ? 'error' : k}=${render(v)}`;
    }
    try {
      fs.writeSync(fd, `${line}\n`);
    } catch {
      // no reader (containerd restarting) or a full pipe: drop the line
    }
  }
}

export const log = new Logger();
