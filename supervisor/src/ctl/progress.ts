/**
 * The live progress of pull/push/import/export: one bar per blob (bytes and
 * rate) with cli-progress on a terminal, plain lines (one per state change)
 * otherwise.
 */
import * as cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressFn } from '../images/progress';
import { size } from './output';

export interface Progress {
  fn: ProgressFn;
  stop(): void;
}

export function createProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled) return { fn: () => undefined, stop: () => undefined };
  if (!stream.isTTY) {
    const last = new Map<string, string>();
    return {
      fn: (e: ProgressEvent) => {
        if (e.status === 'downloading' || e.status === 'uploading' || e.status === 'writing') {
          if (last.get(e.id) === e.status) return;
        }
        last.set(e.id, e.status);
        stream.write(`${e.kind}-${e.id}: ${e.status} ${size(e.current)}${e.total ? ' / ' + size(e.total) : ''}\n`);
      },
      stop: () => undefined,
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: '{kind}-{id} |{bar}| {status} {cur}/{tot} {rate}',
      barsize: 30,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; start: number; base: number }>();
  return {
    fn: (e: ProgressEvent) => {
      let b = bars.get(e.id);
      const payload = (cur: number, elapsed: number, base: number) => ({
        kind: e.kind,
        id: e.id,
        status: e.status.padEnd(11),
        cur: size(cur),
        tot: e.total ? size(e.total) : '?',
        rate: elapsed > 0.05 ? `${size((cur - base) / elapsed)}/s` : '',
      });
      if (!b) {
        b = { bar: multi.create(Math.max(e.total, 1), 0, payload(e.current, 0, e.current)), start: Date.now(), base: e.current };
        bars.set(e.id, b);
      }
      const elapsed = (Date.now() - b.start) / 1000;
      b.bar.setTotal(Math.max(e.total, 1));
      b.bar.update(e.current, payload(e.current, elapsed, b.base));
    },
    stop: () => multi.stop(),
  };
}
