/** berthctl content: ls get rm. */
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './context';
import { withClient } from './context';
import { labelsText, output, size, tsText } from './output';

type A<T> = GlobalArgs & T;

const ls: CommandModule<GlobalArgs, A<{ filters?: string[]; quiet: boolean }>> = {
  command: ['ls [filters..]', 'list'],
  describe: 'list blobs',
  builder: (y) => y.positional('filters', { type: 'string', array: true }).option('quiet', { alias: 'q', type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const all = [];
      for await (const m of c.stream('content', 'List', { filters: a.filters ?? [] })) all.push(...m.info);
      if (a.quiet) return void process.stdout.write(all.map((i) => i.digest + '\n').join(''));
      output(a.format, ['DIGEST', 'SIZE', 'CREATED', 'LABELS'], all.map((i) => [i.digest, size(Number(i.size)), tsText(i.createdAt), labelsText(i.labels)]), all);
    }),
};

const get: CommandModule<GlobalArgs, A<{ digest: string }>> = {
  command: 'get <digest>',
  describe: 'write a blob to stdout',
  builder: (y) => y.positional('digest', { type: 'string', demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      for await (const m of c.stream('content', 'Read', { digest: a.digest })) {
        if (!process.stdout.write(m.data)) await new Promise<void>((r) => process.stdout.once('drain', () => r()));
      }
    }),
};

const rm: CommandModule<GlobalArgs, A<{ digests: string[] }>> = {
  command: ['rm <digests..>', 'remove', 'delete'],
  describe: 'remove blobs',
  builder: (y) => y.positional('digests', { type: 'string', array: true, demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      for (const digest of a.digests) {
        await c.call('content', 'Delete', { digest });
        process.stdout.write(`${digest}\n`);
      }
    }),
};

export const contentCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'content',
  describe: 'manage content',
  builder: (y) => y.command(ls).command(get).command(rm).demandCommand(1, ''),
  handler: () => undefined,
};
