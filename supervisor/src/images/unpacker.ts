/**
 * The seam between images and snapshots (filled by the snapshot issue):
 * after an import or pull, an Unpacker turns an image's layers into committed
 * snapshots keyed by chain IDs in the named snapshotter, through the diff
 * service (Stat → Prepare → Diff/Apply → Commit, as containerd's unpacker).
 *
 * The snapshot code calls setUnpacker() once (e.g. from its berthctl command
 * module); pull and import then call unpackImage() for the platform they
 * fetched. Without an Unpacker, images stay packed and nothing fails.
 */
import type { Client } from '../client/client';
import { readBlob, type Descriptor } from '../client/content';
import { children, isIndex, isManifest } from './media-types';
import { matches, type Platform } from './platforms';

export interface UnpackRequest {
  /** The image name (for logs and labels). */
  image: string;
  /** The platform manifest. */
  manifest: Descriptor;
  /** The manifest's config (its rootfs.diff_ids give the chain IDs). */
  config: Descriptor;
  /** The layers in order, lowest first. */
  layers: Descriptor[];
  /** io.containerd.snapshotter.v1 id: overlayfs, native, btrfs, devmapper. */
  snapshotter: string;
}

export interface Unpacker {
  unpack(client: Client, req: UnpackRequest): Promise<{ chainId: string }>;
}

let current: Unpacker | undefined;

/** Installed by the snapshot/diff code; until then images stay packed. */
export function setUnpacker(u: Unpacker | undefined): void {
  current = u;
}

export function unpacker(): Unpacker | undefined {
  return current;
}

/**
 * Unpacks an image's manifests that match `platform` (all when undefined)
 * with the installed Unpacker; returns the chain IDs (none without one).
 */
export async function unpackImage(client: Client, image: string, target: Descriptor, platform: Platform | undefined, snapshotter: string): Promise<string[]> {
  const u = current;
  if (!u || !snapshotter) return [];
  const out: string[] = [];
  const visit = async (d: Descriptor): Promise<void> => {
    if (isIndex(d.mediaType)) {
      for (const k of children(d.mediaType, await readBlob(client, d.digest))) {
        if (!platform || matches(platform, k.platform)) await visit(k);
      }
    } else if (isManifest(d.mediaType)) {
      const [config, ...layers] = children(d.mediaType, await readBlob(client, d.digest));
      out.push((await u.unpack(client, { image, manifest: d, config, layers, snapshotter })).chainId);
    }
  };
  await visit(target);
  return out;
}
