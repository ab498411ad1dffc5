/**
 * Go durations (time.ParseDuration) in milliseconds: "5s", "500ms", "1m30s",
 * "1.5h", "-2s", "0". runc's --interval takes them, and so do containerd's
 * config.toml settings (the GC scheduler's schedule_delay, startup_delay);
 * formatDuration prints them back (what a plugin exports).
 */
import { InvalidArgumentError } from '../../proto/src/errdefs';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds as Go prints a time.Duration: "0s", "100ms", "1.5s", "2m0s", "1h0m0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (Math.abs(ms) < 1000) return `${ms}ms`;
  const sign = ms < 0 ? '-' : '';
  const s = Math.abs(ms) / 1000;
  const m = Math.floor(s / 60);
  const sec = `${+(s - m * 60).toFixed(9)}s`;
  if (m === 0) return `${sign}${sec}`;
  return m < 60 ? `${sign}${m}m${sec}` : `${sign}${Math.floor(m / 60)}h${m % 60}m${sec}`;
}

export function parseDuration(s: string): number {
  let rest = s.trim();
  const sign = rest.startsWith('-') ? -1 : 1;
  if (rest.startsWith('-') || rest.startsWith('+')) rest = rest.slice(1);
  if (rest === '0') return 0;
  if (rest === '') throw new InvalidArgumentError(`invalid duration ${JSON.stringify(s)}`);
  let ms = 0;
  while (rest) {
    const m = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!m) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(s)}`);
    ms += Number(m[1]) * UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return sign * ms;
}
