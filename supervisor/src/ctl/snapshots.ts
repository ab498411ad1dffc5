/**
 * berthctl snapshots: ls info usage prepare view mounts commit rm label, on
 * the snapshotter named by --snapshotter (overlayfs by default), as ctr's.
 * New snapshots are labelled containerd.io/gc.root, as ctr does, so that the
 * garbage collector leaves what a person made by hand.
 */
import type { CommandModule } from 'yargs';
import { RemoteSnapshotter } from '../client/snapshots';
import { LABEL_GC_ROOT } from '../metadata/labels';
import type { Info, Mount } from '../snapshots/snapshotter';
import { parseLabels, withClient, type GlobalArgs } from './context';
import { labelsText, output, printJson, size } from './output';

type S = GlobalArgs & { snapshotter: string };
type A<T> = S & T;

const root = () => ({ [LABEL_GC_ROOT]: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
const withSnapshotter = <T>(a: S, fn: (sn: RemoteSnapshotter) => Promise<T>) => withClient(a, (c) => fn(new RemoteSnapshotter(c, a.snapshotter)));

/** `mount -t …` lines, as ctr snapshots prepare/mounts print them. */
function printMounts(target: string, mounts: Mount[]): void {
  for (const m of mounts) process.stdout.write(`mount -t ${m.type} ${m.source} ${target} -o ${m.options.join(',')}\n`);
}

const ls: CommandModule<S, A<{ filters?: string[] }>> = {
  command: ['ls [filters..]', 'list'],
  describe: 'list snapshots',
  builder: (y) => y.positional('filters', { type: 'string', array: true }) as never,
  handler: (a) =>
    withSnapshotter(a, async (sn) => {
      const infos: Info[] = [];
      await sn.walk((i) => void infos.push(i), ...(a.filters ?? []));
      output(a.format, ['KEY', 'PARENT', 'KIND', 'LABELS'], infos.map((i) => [i.name, i.parent || '-', i.kind, labelsText(i.labels)]), infos);
    }),
};

const info: CommandModule<S, A<{ key: string }>> = {
  command: 'info <key>',
  describe: 'show a snapshot',
  builder: (y) => y.positional('key', { type: 'string', demandOption: true }) as never,
  handler: (a) => withSnapshotter(a, async (sn) => printJson(await sn.stat(a.key))),
};

const usage: CommandModule<S, A<{ keys?: string[] }>> = {
  command: 'usage [keys..]',
  describe: 'disk usage of snapshots (each without its parents)',
  builder: (y) => y.positional('keys', { type: 'string', array: true }) as never,
  handler: (a) =>
    withSnapshotter(a, async (sn) => {
      const keys = [...(a.keys ?? [])];
      if (keys.length === 0) await sn.walk((i) => void keys.push(i.name));
      const rows: Array<{ key: string; size: number; inodes: number }> = [];
      for (const key of keys) rows.push({ key, ...(await sn.usage(key)) });
      output(a.format, ['KEY', 'SIZE', 'INODES'], rows.map((r) => [r.key, size(r.size), String(r.inodes)]), rows);
    }),
};

const create = (kind: 'prepare' | 'view'): CommandModule<S, A<{ key: string; parent: string; target?: string }>> => ({
  command: `${kind} <key> [parent]`,
  describe: kind === 'prepare' ? 'prepare an active snapshot on a committed parent' : 'make a read-only view of a committed snapshot',
  builder: (y) =>
    y
      .positional('key', { type: 'string', demandOption: true })
      .positional('parent', { type: 'string', default: '' })
      .option('target', { alias: 't', type: 'string', describe: 'print the mount commands for this target' }) as never,
  handler: (a) =>
    withSnapshotter(a, async (sn) => {
      const mounts = await (kind === 'prepare' ? sn.prepare(a.key, a.parent, { labels: root() }) : sn.view(a.key, a.parent, { labels: root() }));
      if (a.target) printMounts(a.target, mounts);
    }),
});

const mounts: CommandModule<S, A<{ target: string; key: string }>> = {
  command: 'mounts <target> <key>',
  describe: 'print the mount commands of an active snapshot or view',
  builder: (y) => y.positional('target', { type: 'string', demandOption: true }).positional('key', { type: 'string', demandOption: true }) as never,
  handler: (a) => withSnapshotter(a, async (sn) => printMounts(a.target, await sn.mounts(a.key))),
};

const commit: CommandModule<S, A<{ name: string; key: string }>> = {
  command: 'commit <name> <key>',
  describe: 'commit an active snapshot as name',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true }).positional('key', { type: 'string', demandOption: true }) as never,
  handler: (a) => withSnapshotter(a, (sn) => sn.commit(a.name, a.key, { labels: root() })),
};

const rm: CommandModule<S, A<{ keys: string[] }>> = {
  command: ['rm <keys..>', 'remove', 'delete'],
  describe: 'remove snapshots (children first)',
  builder: (y) => y.positional('keys', { type: 'string', array: true, demandOption: true }) as never,
  handler: (a) =>
    withSnapshotter(a, async (sn) => {
      for (const k of a.keys) await sn.remove(k);
    }),
};

const label: CommandModule<S, A<{ key: string; labels?: string[] }>> = {
  command: 'label <key> [labels..]',
  describe: 'set (key=value) or clear (key=) labels of a snapshot',
  builder: (y) => y.positional('key', { type: 'string', demandOption: true }).positional('labels', { type: 'string', array: true }) as never,
  handler: (a) =>
    withSnapshotter(a, async (sn) => {
      const labels = parseLabels(a.labels);
      const cur = await sn.stat(a.key);
      const out = await sn.update({ ...cur, labels }, ...Object.keys(labels).map((k) => `labels.${k}`));
      process.stdout.write(`${labelsText(out.labels)}\n`);
    }),
};

export const snapshotsCommand: CommandModule<GlobalArgs, S> = {
  command: ['snapshots', 'snapshot'],
  describe: 'manage snapshots',
  builder: (y) =>
    y
      .option('snapshotter', { type: 'string', default: process.env.CONTAINERD_SNAPSHOTTER ?? 'overlayfs', describe: 'snapshotter name', global: true })
      .command(ls)
      .command(info)
      .command(usage)
      .command(create('prepare'))
      .command(create('view'))
      .command(mounts)
      .command(commit)
      .command(rm)
      .command(label)
      .demandCommand(1, '') as never,
  handler: () => undefined,
};
