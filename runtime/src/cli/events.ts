import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { formatStatsEvent } from '../cgroups';
import { Container } from '../container/container';
import { parseDuration } from '../duration';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

type EventsArgs = Args & { id: string; interval: string; stats: boolean };

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
