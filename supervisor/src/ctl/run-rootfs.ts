/**
 * Where a new container's root filesystem comes from, on the client side
 * (as containerd's client: WithNewSnapshot, then Snapshots.Mounts into
 * CreateTaskRequest.rootfs):
 *
 * - `--rootfs DIR`: the spec's root.path is DIR; no snapshot, no mounts.
 * - an image: its platform manifest and config from the content store, the
 *   chain ID of its layers, and a new active snapshot `<id>` on top of it in
 *   the snapshotter, whose mounts the shim performs on the bundle's rootfs.
 *
 * The snapshot calls go to containerd.services.snapshots.v1.Snapshots
 * (Stat, Prepare, Mounts, Remove); an image that is not unpacked in the
 * snapshotter is a clear error.
 */
import { FailedPreconditionError, NotFoundError, isNotFound } from '../../../proto/src/errdefs';
import type { Client } from '../client/client';
import { readBlob, type Descriptor } from '../client/content';
import { RemoteSnapshotter } from '../client/snapshots';
import { chainIds } from '../diff/unpack';
import { children, isIndex, isManifest } from '../images/media-types';
import { defaultPlatform, matches, type Platform } from '../images/platforms';
import type { Mount } from '../mount/types';
import type { ImageConfig } from './run-spec';

export type { Mount };

export interface ResolvedImage {
  name: string;
  manifest: Descriptor;
  config: ImageConfig;
  /** The chain ID of the layers (the committed snapshot to start from). */
  chainId: string;
}

/** The image's manifest for `platform` (default: this host's) and its config. */
export async function resolveImage(client: Client, ref: string, platform: Platform = defaultPlatform()): Promise<ResolvedImage> {
  const { image } = await client.call('images', 'Get', { name: ref });
  let manifest: Descriptor | undefined;
  const visit = async (d: Descriptor): Promise<void> => {
    if (manifest) return;
    if (isManifest(d.mediaType)) {
      manifest = d;
    } else if (isIndex(d.mediaType)) {
      for (const k of children(d.mediaType, await readBlob(client, d.digest))) {
        if (!k.platform || matches(platform, k.platform)) await visit(k);
      }
    }
  };
  await visit(image.target);
  if (!manifest) throw new NotFoundError(`image ${ref}: no manifest for platform ${platform.os}/${platform.architecture}: not found`);
  const m = JSON.parse((await readBlob(client, manifest.digest)).toString('utf8')) as { config: Descriptor };
  const cfg = JSON.parse((await readBlob(client, m.config.digest)).toString('utf8')) as { config?: ImageConfig; rootfs?: { diff_ids?: string[] } };
  return { name: ref, manifest, config: cfg.config ?? {}, chainId: chainIds(cfg.rootfs?.diff_ids ?? []).at(-1) ?? '' };
}

/**
 * Prepares the active snapshot `key` on the image's chain and returns its
 * mounts (WithNewSnapshot + Mounts). The image must be unpacked in that
 * snapshotter (pull or import unpack it).
 */
export async function prepareSnapshot(client: Client, snapshotter: string, key: string, parent: string, labels: Record<string, string> = {}): Promise<Mount[]> {
  const sn = new RemoteSnapshotter(client, snapshotter);
  try {
    await sn.stat(parent);
  } catch (err) {
    if (isNotFound(err)) throw new FailedPreconditionError(`image is not unpacked in snapshotter ${snapshotter} (no snapshot ${parent}): pull or import it with unpacking`, { cause: err });
    throw err;
  }
  return sn.prepare(key, parent, { labels });
}

/** The mounts of an existing snapshot (for a container created earlier). */
export function snapshotMounts(client: Client, snapshotter: string, key: string): Promise<Mount[]> {
  return new RemoteSnapshotter(client, snapshotter).mounts(key);
}

export function removeSnapshot(client: Client, snapshotter: string, key: string): Promise<void> {
  return new RemoteSnapshotter(client, snapshotter).remove(key);
}
