/**
 * The runtime's logger: runc's --log, --log-format text|json and --debug.
 *
 * Like runc, the runtime logs nothing to stdout (it carries state JSON and the
 * container's I/O) and defaults to level "error". The winston logger is built
 * on first use, so that a command that logs nothing never pays for it.
 * JSON lines are logrus-shaped ({"level","msg","time"}, "warning" for warn):
 * containerd's go-runc reads the last error from this file.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type * as winstonTypes from 'winston';

export interface LogOptions {
  file?: string;
  format: 'text' | 'json';
  debug: boolean;
}

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

let options: LogOptions = { format: 'text', debug: false };
let root: winstonTypes.Logger | undefined;

export function configureLogging(opts: LogOptions): void {
  options = opts;
  root = undefined;
}

export function logOptions(): LogOptions {
  return options;
}

const levelName = (level: string) => (level === 'warn' ? 'warning' : level);

/** logrus's text formatter: time="..." level=error msg="..." key=value */
export function formatText(level: string, msg: string, fields: Fields, time: Date): string {
  let line = `time="${time.toISOString().replace(/\.\d+Z$/, 'Z')}" level=${levelName(level)} msg=${JSON.stringify(msg)}`;
  for (const [k, v] of Object.entries(fields)) {
    const s = v instanceof Error ? v.message : typeof v === 'string' ? v : JSON.stringify(v);
    line += ` ${k}=${/^[\w./:-]+$/.test(s) ? s : JSON.stringify(s)}`;
  }
  return line;
}

export function formatJson(level: string, msg: string, fields: Fields, time: Date): string {
  const out: Fields = { level: levelName(level), msg, time: time.toISOString().replace(/\.\d+Z$/, 'Z') };
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? v.message : v;
  return JSON.stringify(out);
}

function build(): winstonTypes.Logger {
  // Loaded here, not at the top, so that a silent run never loads winston; it is
  // kept out of the bundle and its start-up snapshot (scripts/build.mjs), so it
  // is resolved from node_modules with a require made for this file's place.
  const winston = createRequire(path.join(__dirname, 'logging.js'))('winston') as typeof winstonTypes;
  const line = winston.format.printf((info) => {
    const { level, message, timestamp: _t, ...rest } = info as winstonTypes.Logform.TransformableInfo & Fields;
    delete (rest as Record<symbol, unknown>)[Symbol.for('level')];
    delete (rest as Record<symbol, unknown>)[Symbol.for('splat')];
    const fmt = options.format === 'json' ? formatJson : formatText;
    return fmt(level, String(message), rest, new Date());
  });
  const transport = options.file
    ? new winston.transports.Stream({ stream: fs.createWriteStream(options.file, { flags: 'a', mode: 0o644 }) })
    : new winston.transports.Stream({ stream: process.stderr });
  return winston.createLogger({ level: options.debug ? 'debug' : 'warn', format: line, transports: [transport] });
}

function emit(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Fields): void {
  if (level === 'debug' && !options.debug) return;
  if (level === 'info' && !options.debug) return;
  // Errors go to the log synchronously: the process usually exits right after.
  if (level === 'error' && options.file) {
    const fmt = options.format === 'json' ? formatJson : formatText;
    try {
      fs.appendFileSync(options.file, fmt(level, msg, fields ?? {}, new Date()) + '\n');
      return;
    } catch (err) {
      // An unwritable --log must not hide the error itself: it goes to stderr instead.
      process.stderr.write(formatText('warn', 'cannot write the log file', { file: options.file, err: err as Error }, new Date()) + '\n');
      process.stderr.write(formatText(level, msg, fields ?? {}, new Date()) + '\n');
      return;
    }
  }
  root ??= build();
  root.log(level, msg, fields ?? {});
}

export const log: Logger = {
  debug: (m, f) => emit('debug', m, f),
  info: (m, f) => emit('info', m, f),
  warn: (m, f) => emit('warn', m, f),
  error: (m, f) => emit('error', m, f),
};

/** Flushes pending log writes before the process exits. */
export function closeLogging(): Promise<void> {
  const r = root;
  if (!r) return Promise.resolve();
  return new Promise((resolve) => {
    r.on('finish', () => resolve());
    r.end();
    setTimeout(resolve, 200).unref();
  });
}

let traceEnv: string | undefined;
let traceSet = new Set<string>();

/**
 * Per-component tracing from the BERTH_TRACE env list (like GRPC_TRACE):
 * BERTH_TRACE=timing prints milliseconds since the process started at each
 * phase of a command, to stderr, whatever the log level.
 */
export function trace(component: string, msg: string): void {
  // Read each time (cheap): a value cached while the start-up snapshot was built would be stale.
  const env = process.env.BERTH_TRACE;
  if (env !== traceEnv) {
    traceEnv = env;
    traceSet = new Set((env ?? '').split(',').filter(Boolean));
  }
  if (!traceSet.has(component) && !traceSet.has('all')) return;
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stderr.write(`trace ${component} ${(process.uptime() * 1000).toFixed(1)}ms cpu=${cpuMs.toFixed(1)}ms ${msg}\n`);
}
