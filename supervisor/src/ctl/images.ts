/** berthctl images: pull push import export ls rm tag. */
import type { Argv, CommandModule } from 'yargs';
import { FailedPreconditionError } from '../../../proto/src/errdefs';
import type { Client } from '../client/client';
import { blobInfo, readBlob, type Descriptor } from '../client/content';
import { children, isIndex, isManifest } from '../images/media-types';
import { formatPlatform } from '../images/platforms';
import { exportArchive } from '../images/archive-export';
import { importArchive } from '../images/archive-import';
import { pull } from '../images/remotes/pull';
import { push } from '../images/remotes/push';
import { createProgress } from './progress';
import { credentials, withClient, type GlobalArgs } from './context';
import { labelsText, output, size } from './output';

type A<T> = GlobalArgs & T;

const registryOptions = (y: Argv) =>
  y
    .option('plain-http', { type: 'boolean', default: false, describe: 'allow connections using plain HTTP' })
    .option('user', { alias: 'u', type: 'string', describe: 'user[:password] for the registry' })
    .option('tlscacert', { type: 'string', describe: 'path to a TLS root CA' })
    .option('skip-verify', { alias: 'k', type: 'boolean', default: false, describe: 'skip TLS certificate validation' })
    .option('progress', { type: 'boolean', default: true, describe: 'show progress (plain lines when not a terminal)' });

const regOpts = (a: A<{ 'plain-http': boolean; user?: string; tlscacert?: string; 'skip-verify': boolean }>) => ({
  plainHttp: a['plain-http'],
  caFile: a.tlscacert,
  skipVerify: a['skip-verify'],
  ...credentials(a.user),
});

const ls: CommandModule<GlobalArgs, A<{ filters?: string[]; quiet: boolean }>> = {
  command: ['ls [filters..]', 'list'],
  describe: 'list images',
  builder: (y) => y.positional('filters', { type: 'string', array: true }).option('quiet', { alias: 'q', type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { images } = await c.call('images', 'List', { filters: a.filters ?? [] });
      if (a.quiet) return void process.stdout.write(images.map((i: { name: string }) => i.name + '\n').join(''));
      const rows: string[][] = [];
      for (const i of images as Array<{ name: string; target: Descriptor; labels: Record<string, string> }>) {
        const s = await imageSummary(c, i.target);
        rows.push([i.name, i.target.mediaType, i.target.digest, size(s.size), s.platforms.join(',') || '-', labelsText(i.labels)]);
      }
      output(a.format, ['REF', 'TYPE', 'DIGEST', 'SIZE', 'PLATFORMS', 'LABELS'], rows, images);
    }),
};

/**
 * What `images ls` shows of an image, as ctr does: the size of what is in the
 * store under the target, and the platforms of its manifests.
 */
async function imageSummary(c: Client, target: Descriptor): Promise<{ size: number; platforms: string[] }> {
  let total = 0;
  const platforms = new Set<string>();
  const seen = new Set<string>();
  const visit = async (d: Descriptor, platform?: string): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const info = await blobInfo(c, d.digest);
    if (!info) return;
    total += Number(info.size);
    if (isIndex(d.mediaType) || isManifest(d.mediaType)) {
      const kids = children(d.mediaType, await readBlob(c, d.digest));
      if (isManifest(d.mediaType)) {
        let p = platform;
        if (!p) {
          try {
            const cfg = JSON.parse((await readBlob(c, kids[0].digest)).toString());
            p = formatPlatform({ os: cfg.os, architecture: cfg.architecture, variant: cfg.variant });
          } catch {
            /* config not in the store */
          }
        }
        if (p) platforms.add(p);
      }
      for (const k of kids) await visit(k, k.platform ? formatPlatform(k.platform) : undefined);
    }
  };
  await visit(target);
  return { size: total, platforms: [...platforms].sort() };
}

const rm: CommandModule<GlobalArgs, A<{ names: string[]; sync: boolean; force: boolean }>> = {
  command: ['rm <names..>', 'remove', 'delete'],
  describe: 'remove images (refused while a container uses one, unless --force)',
  builder: (y) =>
    y
      .positional('names', { type: 'string', array: true, demandOption: true })
      .option('sync', { type: 'boolean', default: false, describe: 'collect garbage before returning' })
      .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'remove even when containers use the image' }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      if (!a.force) {
        // The API lets an image go from under its containers (as containerd's does); berthctl does not.
        for (const name of a.names) {
          const { containers } = await c.call('containers', 'List', { filters: [`image==${JSON.stringify(name)}`] });
          if (containers.length) {
            throw new FailedPreconditionError(`image ${name} is in use by container${containers.length > 1 ? 's' : ''} ${containers.map((x: { id: string }) => x.id).join(', ')} (--force removes it anyway)`);
          }
        }
      }
      for (const [i, name] of a.names.entries()) {
        await c.call('images', 'Delete', { name, sync: a.sync && i === a.names.length - 1 });
        process.stdout.write(`${name}\n`);
      }
    }),
};

const tag: CommandModule<GlobalArgs, A<{ source: string; targets: string[]; force: boolean }>> = {
  command: 'tag <source> <targets..>',
  describe: 'tag an image',
  builder: (y) => y.positional('source', { type: 'string', demandOption: true }).positional('targets', { type: 'string', array: true, demandOption: true }).option('force', { type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { image } = await c.call('images', 'Get', { name: a.source });
      for (const t of a.targets) {
        const img = { ...image, name: t };
        try {
          await c.call('images', 'Create', { image: img });
        } catch (err) {
          if (!a.force) throw err;
          await c.call('images', 'Update', { image: img, updateMask: { paths: ['target'] } });
        }
        process.stdout.write(`${t}\n`);
      }
    }),
};

const imp: CommandModule<GlobalArgs, A<{ file: string; 'base-name'?: string; digests: boolean; 'all-platforms': boolean; platform?: string; 'index-name'?: string; progress: boolean; snapshotter: string; unpack: boolean }>> = {
  command: 'import <file>',
  describe: 'import images from an OCI or docker archive',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .option('base-name', { type: 'string' })
      .option('digests', { type: 'boolean', default: false })
      .option('all-platforms', { type: 'boolean', default: false })
      .option('platform', { type: 'string' })
      .option('index-name', { type: 'string' })
      .option('snapshotter', { type: 'string', default: 'overlayfs' })
      .option('unpack', { type: 'boolean', default: true, describe: 'unpack into the snapshotter (--no-unpack to skip)' })
      .option('progress', { type: 'boolean', default: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const p = createProgress(a.progress);
      try {
        const out = await importArchive(c, a.file, { baseName: a['base-name'], digests: a.digests, allPlatforms: a['all-platforms'], platform: a.platform, indexName: a['index-name'], progress: p.fn, snapshotter: a.unpack ? a.snapshotter : undefined });
        p.stop();
        if (a.format === 'json') return void process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        for (const i of out) process.stdout.write(`imported ${i.name} (${i.target.digest})\n`);
      } finally {
        p.stop();
      }
    }),
};

const exp: CommandModule<GlobalArgs, A<{ file: string; names: string[]; 'all-platforms': boolean; platform?: string; progress: boolean }>> = {
  command: 'export <file> <names..>',
  describe: 'export images to an OCI archive',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true })
      .positional('names', { type: 'string', array: true, demandOption: true })
      .option('all-platforms', { type: 'boolean', default: false })
      .option('platform', { type: 'string' })
      .option('progress', { type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const p = createProgress(a.progress);
      try {
        await exportArchive(c, a.file, a.names, { allPlatforms: a['all-platforms'], platform: a.platform, progress: p.fn });
      } finally {
        p.stop();
      }
    }),
};

type RegA = { 'plain-http': boolean; user?: string; tlscacert?: string; 'skip-verify': boolean; progress: boolean };

const pullCmd: CommandModule<GlobalArgs, A<RegA & { ref: string; platform?: string; 'all-platforms': boolean; 'max-concurrent-downloads': number; snapshotter?: string; unpack: boolean }>> = {
  command: 'pull <ref>',
  describe: 'pull an image from a registry',
  builder: (y) =>
    registryOptions(y)
      .positional('ref', { type: 'string', demandOption: true })
      .option('platform', { type: 'string' })
      .option('all-platforms', { type: 'boolean', default: false })
      .option('max-concurrent-downloads', { type: 'number', default: 3 })
      .option('snapshotter', { type: 'string', default: 'overlayfs' })
      .option('unpack', { type: 'boolean', default: true, describe: 'unpack into the snapshotter (--no-unpack to skip)' }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const p = createProgress(a.progress);
      try {
        const r = await pull(c, a.ref, {
          ...regOpts(a),
          platform: a.platform,
          allPlatforms: a['all-platforms'],
          concurrency: a['max-concurrent-downloads'],
          snapshotter: a.unpack ? a.snapshotter : undefined,
          progress: p.fn,
        });
        p.stop();
        if (a.format === 'json') return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        process.stdout.write(`${r.name}: resolved ${r.target.digest}\n`);
      } finally {
        p.stop();
      }
    }),
};

const pushCmd: CommandModule<GlobalArgs, A<RegA & { ref: string; local?: string }>> = {
  command: 'push <ref> [local]',
  describe: 'push an image to a registry',
  builder: (y) => registryOptions(y).positional('ref', { type: 'string', demandOption: true }).positional('local', { type: 'string' }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const p = createProgress(a.progress);
      try {
        const d = await push(c, a.local ?? a.ref, a.ref, { ...regOpts(a), progress: p.fn });
        p.stop();
        process.stdout.write(`${a.ref}: pushed ${d.digest}\n`);
      } finally {
        p.stop();
      }
    }),
};

export const imagesCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: ['images', 'image', 'i'],
  describe: 'manage images',
  builder: (y) => y.command(ls).command(rm).command(tag).command(imp).command(exp).command(pullCmd).command(pushCmd).demandCommand(1, ''),
  handler: () => undefined,
};
