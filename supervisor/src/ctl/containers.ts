/** berthctl containers: ls info rm (create comes with `run`, from the tasks work). */
import type { CommandModule } from 'yargs';
import { withClient, type GlobalArgs } from './context';
import { labelsText, output, printJson } from './output';

type A<T> = GlobalArgs & T;

const ls: CommandModule<GlobalArgs, A<{ filters?: string[]; quiet: boolean }>> = {
  command: ['ls [filters..]', 'list'],
  describe: 'list containers',
  builder: (y) => y.positional('filters', { type: 'string', array: true }).option('quiet', { alias: 'q', type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { containers } = await c.call('containers', 'List', { filters: a.filters ?? [] });
      if (a.quiet) return void process.stdout.write(containers.map((x: { id: string }) => x.id + '\n').join(''));
      output(
        a.format,
        ['CONTAINER', 'IMAGE', 'RUNTIME', 'LABELS'],
        containers.map((x: { id: string; image: string; runtime: { name: string }; labels: Record<string, string> }) => [x.id, x.image || '-', x.runtime?.name ?? '-', labelsText(x.labels)]),
        containers,
      );
    }),
};

const info: CommandModule<GlobalArgs, A<{ id: string }>> = {
  command: 'info <id>',
  describe: 'show a container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { container } = await c.call('containers', 'Get', { id: a.id });
      if (container.spec?.value) {
        try {
          container.spec = JSON.parse(Buffer.from(container.spec.value).toString());
        } catch {
          /* not JSON: printed as base64 */
        }
      }
      printJson(container);
    }),
};

const rm: CommandModule<GlobalArgs, A<{ ids: string[] }>> = {
  command: ['rm <ids..>', 'remove', 'delete'],
  describe: 'remove containers',
  builder: (y) => y.positional('ids', { type: 'string', array: true, demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      for (const id of a.ids) {
        await c.call('containers', 'Delete', { id });
        process.stdout.write(`${id}\n`);
      }
    }),
};

export const containersCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: ['containers', 'container', 'c'],
  describe: 'manage containers',
  builder: (y) => y.command(ls).command(info).command(rm).demandCommand(1, ''),
  handler: () => undefined,
};
