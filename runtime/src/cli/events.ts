import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { formatStatsEvent } from '../cgroups';
import { Container } from '../container/container';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

type EventsArgs = Args & { id: string; interval: string; stats: boolean };

/** Go durations as runc's --interval takes them: "5s", "500ms", "1m30s". */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  let rest = s.trim();
  if (rest === '0') return 0;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(s)}`);
    ms += Number(m[1]) * units[m[2]];
    rest = rest.slice(m[0].length);
  }
  return ms;
}

export const eventsCommand: CommandSpec<EventsArgs> = {
  name: 'events',
  describe: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
  positionals: [{ name: 'id', required: true }],
  options: {
    interval: { type: 'string', default: '5s', describe: 'set the stats collection interval' },
    stats: { type: 'boolean', default: false, describe: "display the container's stats then exit" },
  },
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    const interval = parseDuration(argv.interval);
    if (interval <= 0) throw new InvalidArgumentError('duration interval must be greater than 0');
    const c = Container.load(argv.root, argv.id);
    if (c.status() === 'stopped') throw new InvalidArgumentError(`container with id ${argv.id} is not running`);
    const cg = c.cgroup();
    if (argv.stats) {
      process.stdout.write(formatStatsEvent(c.id, cg.stats()) + '\n');
      return;
    }
    // Streaming: stats every interval, OOM events as they come, until the container stops.
    const oomLine = JSON.stringify({ type: 'oom', id: c.id }) + '\n';
    const before = cg.oomKillCount();
    let reported = 0;
    const oom = cg.watchOOM();
    const watching = (async () => {
      for await (const _e of oom) {
        reported++;
        process.stdout.write(oomLine);
      }
    })();
    try {
      while (c.status() !== 'stopped') {
        process.stdout.write(formatStatsEvent(c.id, cg.stats()) + '\n');
        await new Promise((r) => setTimeout(r, interval));
      }
    } finally {
      oom.close();
      await watching.catch(() => undefined);
    }
    // An OOM kill that stopped the container may land between two polls of the watcher:
    // the kernel's counter has the last word.
    for (let n = cg.oomKillCount() - before - reported; n > 0; n--) process.stdout.write(oomLine);
  },
};
