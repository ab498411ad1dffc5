/** berthctl namespaces: ls create rm. */
import type { CommandModule } from 'yargs';
import { parseLabels, withClient, type GlobalArgs } from './context';
import { labelsText, output } from './output';

type A<T> = GlobalArgs & T;

const ls: CommandModule<GlobalArgs, A<{ quiet: boolean }>> = {
  command: ['ls', 'list'],
  describe: 'list namespaces',
  builder: (y) => y.option('quiet', { alias: 'q', type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { namespaces } = await c.call('namespaces', 'List', {});
      if (a.quiet) return void process.stdout.write(namespaces.map((n: { name: string }) => n.name + '\n').join(''));
      output(a.format, ['NAME', 'LABELS'], namespaces.map((n: { name: string; labels: Record<string, string> }) => [n.name, labelsText(n.labels)]), namespaces);
    }),
};

const create: CommandModule<GlobalArgs, A<{ name: string; labels?: string[] }>> = {
  command: 'create <name> [labels..]',
  describe: 'create a namespace (labels as key=value)',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).positional('labels', { type: 'string', array: true }) as never,
  handler: (a) => withClient(a, (c) => c.call('namespaces', 'Create', { namespace: { name: a.name, labels: parseLabels(a.labels) } })),
};

const rm: CommandModule<GlobalArgs, A<{ names: string[] }>> = {
  command: ['rm <names..>', 'remove'],
  describe: 'remove empty namespaces',
  builder: (y) => y.positional('names', { type: 'string', array: true, demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      for (const name of a.names) {
        await c.call('namespaces', 'Delete', { name });
        process.stdout.write(`${name}\n`);
      }
    }),
};

export const namespacesCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: ['namespaces', 'namespace', 'ns'],
  describe: 'manage namespaces',
  builder: (y) => y.command(ls).command(create).command(rm).demandCommand(1, ''),
  handler: () => undefined,
};
