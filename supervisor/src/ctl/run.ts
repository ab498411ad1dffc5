/**
 * berthctl run: a container and its task from an image or a root filesystem
 * directory (ctr run): the spec as containerd's client makes it, the
 * container record, the task with this terminal's stdio, the process's exit
 * status as berthctl's; -d leaves it running; --rm removes it afterwards.
 *
 *   berthctl run [-d] [-t] [--rm] [--runtime NAME] IMAGE ID [ARGS...]
 *   berthctl run --rootfs [-d] [-t] [--rm] DIR ID ARGS...
 */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import type { Client } from '../client/client';
import { withClient, parseLabels, type GlobalArgs } from './context';
import { prepareSnapshot, removeSnapshot, resolveImage, type Mount } from './run-rootfs';
import { DEFAULT_ENV, SPEC_TYPE_URL, defaultSpec, mergeEnv, withHostNetwork, withImageConfig, withUser, type Spec } from './run-spec';
import { runAttached } from './task-attach';

export const DEFAULT_RUNTIME = 'io.containerd.berth.v2';

/** A command's words: the positional ones, then everything after `--` (which yargs keeps apart). */
export function commandArgs(positional: string[] | undefined, argv: string[] = process.argv): string[] {
  const i = argv.indexOf('--');
  return [...(positional ?? []).map(String), ...(i >= 0 ? argv.slice(i + 1) : [])];
}

interface RunArgs extends GlobalArgs {
  ref: string;
  id: string;
  args?: string[];
  rootfs: boolean;
  detach: boolean;
  tty: boolean;
  rm: boolean;
  runtime: string;
  snapshotter: string;
  env?: string[];
  cwd?: string;
  user?: string;
  label?: string[];
  'net-host': boolean;
}

/** The task of an existing container, attached (exit status) or detached (0). */
export async function startTask(c: Client, id: string, opts: { rootfs: Mount[]; terminal: boolean; detach: boolean }): Promise<number> {
  if (opts.detach) {
    await c.call('tasks', 'Create', { containerId: id, rootfs: opts.rootfs, terminal: opts.terminal });
    await c.call('tasks', 'Start', { containerId: id });
    return 0;
  }
  const status = await runAttached(c, {
    containerId: id,
    execId: '',
    terminal: opts.terminal,
    create: async (io) => {
      await c.call('tasks', 'Create', { containerId: id, rootfs: opts.rootfs, ...io });
    },
  });
  await c.call('tasks', 'Delete', { containerId: id });
  return status;
}

async function run(c: Client, a: RunArgs): Promise<number> {
  const spec: Spec = defaultSpec(c.namespace, a.id);
  const args = commandArgs(a.args);
  let rootfsDir: string | undefined;
  let image: Awaited<ReturnType<typeof resolveImage>> | undefined;
  if (a.rootfs) {
    rootfsDir = path.resolve(a.ref);
    spec.root.path = rootfsDir;
    if (args.length === 0) throw new InvalidArgumentError('a command is required with --rootfs');
    spec.process.args = args;
    spec.process.env = [...DEFAULT_ENV];
  } else {
    image = await resolveImage(c, a.ref);
    withImageConfig(spec, image.config, args);
    if (spec.process.args.length === 0) throw new InvalidArgumentError(`image ${a.ref} has no command: give one`);
  }
  spec.process.env = mergeEnv(spec.process.env, a.env ?? []);
  if (a.cwd) spec.process.cwd = a.cwd;
  if (a.user) withUser(spec, a.user, rootfsDir);
  if (a.tty) spec.process.terminal = true;
  if (a['net-host']) withHostNetwork(spec);

  let mounts: Mount[] = [];
  const snapshotter = image ? a.snapshotter : '';
  const cleanup = async () => {
    await c.call('containers', 'Delete', { id: a.id }).catch(() => undefined);
    if (snapshotter) await removeSnapshot(c, snapshotter, a.id).catch(() => undefined);
  };
  const create = async (): Promise<void> => {
    if (image) mounts = await prepareSnapshot(c, a.snapshotter, a.id, image.chainId);
    try {
      await c.call('containers', 'Create', {
        container: {
          id: a.id,
          image: image?.name ?? '',
          labels: parseLabels(a.label),
          runtime: { name: a.runtime },
          spec: { type_url: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)) },
          snapshotter,
          snapshotKey: snapshotter ? a.id : '',
        },
      });
    } catch (err) {
      if (snapshotter) await removeSnapshot(c, snapshotter, a.id).catch(() => undefined);
      throw err;
    }
  };
  // As ctr run: one lease over the snapshot and the container that references
  // it. Until the container exists only the lease holds the snapshot, and a
  // collection (one runs as soon as anything is deleted) would take it.
  if (image) await c.withLease(create);
  else await create();
  try {
    return await startTask(c, a.id, { rootfs: mounts, terminal: a.tty, detach: a.detach });
  } catch (err) {
    if (!a.detach) await c.call('tasks', 'Delete', { containerId: a.id }).catch(() => undefined);
    throw err;
  } finally {
    if (a.rm) await cleanup(); // --rm never comes with --detach (refused above)
  }
}

export const runCommand: CommandModule<GlobalArgs, RunArgs> = {
  command: 'run <ref> <id> [args..]',
  describe: 'run a container from an image (or a root filesystem directory with --rootfs)',
  builder: (y) =>
    y
      .epilog('A command with options of its own goes after --: berthctl run --rootfs DIR ID -- sh -c \'exit 7\'')
      .positional('ref', { type: 'string', demandOption: true, describe: 'image reference, or a directory with --rootfs' })
      .positional('id', { type: 'string', demandOption: true })
      .positional('args', { type: 'string', array: true })
      .option('rootfs', { type: 'boolean', default: false, describe: 'REF is a root filesystem directory' })
      .option('detach', { alias: 'd', type: 'boolean', default: false, describe: 'leave the task running in the background' })
      .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'give the process a terminal' })
      .option('rm', { type: 'boolean', default: false, describe: 'remove the container when the process exits' })
      .option('runtime', { type: 'string', default: DEFAULT_RUNTIME, describe: 'runtime name (io.containerd.runc.v2 for containerd\'s runc shim)' })
      .option('snapshotter', { type: 'string', default: 'overlayfs', describe: 'snapshotter for an image\'s root filesystem' })
      .option('env', { alias: 'e', type: 'string', array: true, describe: 'KEY=VALUE for the environment' })
      .option('cwd', { type: 'string', describe: 'working directory' })
      .option('user', { alias: 'u', type: 'string', describe: 'user[:group] (numbers, or names from the rootfs)' })
      .option('label', { type: 'string', array: true, describe: 'KEY=VALUE container labels' })
      .option('net-host', { type: 'boolean', default: false, describe: 'use the host\'s network namespace' })
      .check((a) => {
        if (a.rm && a.detach) throw new Error('--detach and --rm cannot be specified together');
        return true;
      }) as never,
  handler: async (a) => {
    const status = await withClient(a, (c) => run(c, a));
    if (status !== 0) process.exit(status);
  },
};
