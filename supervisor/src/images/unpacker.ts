/**
 * Unpacking after an import or pull, in the client as containerd's does it
 * (unpacker.go, image.Unpack): the image's layers become committed snapshots
 * keyed by chain IDs in the named snapshotter, through the daemon's Snapshots
 * and Diff services (Stat → Prepare → Diff/Apply → Commit); each unpacked
 * layer blob gets containerd.io/uncompressed=<diff ID>, the config
 * containerd.io/gc.ref.snapshot.<snapshotter>=<top chain ID>, which keeps the
 * snapshots alive for as long as the image. Import and pull run under a lease,
 * so nothing is collected half-way.
 *
 * daemonUnpacker is installed by default; setUnpacker() swaps it (undefined:
 * images stay packed).
 */
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import type { Client } from '../client/client';
import { readBlob, type Descriptor } from '../client/content';
import { RemoteDiff } from '../client/diff';
import { RemoteSnapshotter } from '../client/snapshots';
import { unpackLayers } from '../diff/unpack';
import { LABEL_GC_SNAP_REF, LABEL_UNCOMPRESSED } from '../metadata/labels';
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

/** Sets labels on a blob through the content service (one field-mask path per label). */
async function labelBlob(client: Client, digest: string, labels: Record<string, string>): Promise<void> {
  await client.call('content', 'Update', { info: { digest, labels }, updateMask: { paths: Object.keys(labels).map((k) => `labels.${k}`) } });
}

/** Unpacks through the daemon's services, as ctr does against containerd. */
export const daemonUnpacker: Unpacker = {
  async unpack(client, req) {
    const config = JSON.parse((await readBlob(client, req.config.digest)).toString()) as { rootfs?: { diff_ids?: string[] } };
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== req.layers.length) {
      throw new InvalidArgumentError(`number of layers and diffIDs don't match: ${req.layers.length} != ${diffIds.length}: invalid argument`);
    }
    const sn = new RemoteSnapshotter(client, req.snapshotter);
    const layers = req.layers.map((blob, i) => ({ blob, diffId: diffIds[i] }));
    const chainId = await unpackLayers(sn, new RemoteDiff(client), layers, {
      onUnpacked: (l) => labelBlob(client, l.blob.digest, { [LABEL_UNCOMPRESSED]: l.diffId }),
    });
    if (chainId) await labelBlob(client, req.config.digest, { [`${LABEL_GC_SNAP_REF}${req.snapshotter}`]: chainId });
    return { chainId };
  },
};

let current: Unpacker | undefined = daemonUnpacker;

/** Replaces the unpacker (undefined: images stay packed). */
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
