/**
 * The seam between images and snapshots (filled by the snapshot issue):
 * after an import or pull, an Unpacker turns an image's layers into committed
 * snapshots keyed by chain IDs in the named snapshotter, through the diff
 * service (Stat → Prepare → Diff/Apply → Commit, as containerd's unpacker).
 */
import type { Descriptor } from '../client/content';
import type { Client } from '../client/client';

export interface UnpackRequest {
  /** The image name (for logs and labels). */
  image: string;
  /** The platform manifest's config (its rootfs.diff_ids give the chain IDs). */
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
export function setUnpacker(u: Unpacker): void {
  current = u;
}

export function unpacker(): Unpacker | undefined {
  return current;
}
