/**
 * Go durations (time.ParseDuration) in milliseconds: "5s", "500ms", "1m30s",
 * "1.5h", "-2s", "0". runc's --interval takes them, and so do containerd's
 * config.toml settings (the GC scheduler's schedule_delay, startup_delay).
 */
import { InvalidArgumentError } from '../../proto/src/errdefs';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

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
