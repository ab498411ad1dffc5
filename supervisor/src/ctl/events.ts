/** berthctl events: print events as they happen (filters as containerd's). */
import type { CommandModule } from 'yargs';
import { decodeEvent } from '../events/exchange';
import { withClient, type GlobalArgs } from './context';
import { tsText } from './output';

export const eventsCommand: CommandModule<GlobalArgs, GlobalArgs & { filters?: string[] }> = {
  command: ['events [filters..]', 'event'],
  describe: 'display events',
  builder: (y) => y.positional('filters', { type: 'string', array: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      c.namespace = ''; // events of every namespace, as ctr
      for await (const env of c.stream('events', 'Subscribe', { filters: a.filters ?? [] })) {
        const ev = env.event ? decodeEvent({ type_url: env.event.type_url, value: env.event.value }) : undefined;
        if (a.format === 'json') process.stdout.write(JSON.stringify({ ...env, event: ev ?? env.event }) + '\n');
        else process.stdout.write(`${tsText(env.timestamp)} ${env.topic} ${env.namespace} ${JSON.stringify(ev ?? {})}\n`);
      }
    }),
};
