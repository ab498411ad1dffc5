/**
 * The unpacker seam (containerd unpacker.go / rootfs.ApplyLayers): turns an
 * image's layers into committed snapshots keyed by chain IDs.
 *
 * For each layer: chainID(n) = diffID(1) for the first layer, else
 * sha256(chainID(n-1) + " " + diffID(n)) (OCI image-spec config.md). If a
 * snapshot with that name exists (Stat) it is reused; otherwise the layer is
 * applied on a fresh active snapshot (Prepare on the previous chain ID →
 * Diff.Apply → the applied digest must equal the diff ID → Commit under the
 * chain ID). On any error the active snapshot is removed: no half-made
 * snapshot stays visible.
 */
import * as crypto from 'node:crypto';
import { isAlreadyExists, isNotFound, InvalidArgumentError } from '../../../proto/src/errdefs';
import type { Snapshotter } from '../snapshots/snapshotter';
import type { Descriptor } from './content';
import { UNCOMPRESSED_LABEL, type DiffService } from './local';
import { warnOnError } from '../snapshots/log';

export interface Layer {
  /** The layer blob in the content store. */
  blob: Descriptor;
  /** Its uncompressed digest (from the image config's rootfs.diff_ids). */
  diffId: string;
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : `sha256:${crypto.createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex')}`);
  }
  return out;
}

/** Unpacks layers onto sn; resolves to the chain ID of the top layer (the image's rootfs parent). */
export async function unpackLayers(sn: Snapshotter, diff: DiffService, layers: Layer[], labels: Record<string, string> = {}): Promise<string> {
  const chain = chainIds(layers.map((l) => l.diffId));
  let parent = '';
  for (const [i, layer] of layers.entries()) {
    const chainId = chain[i];
    try {
      await sn.stat(chainId);
      parent = chainId;
      continue;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const key = `extract-${crypto.randomBytes(6).toString('hex')} ${chainId}`;
    const mounts = await sn.prepare(key, parent, { labels: { 'containerd.io/snapshot.ref': chainId } });
    try {
      const applied = await diff.apply(layer.blob, mounts);
      if (applied.digest !== layer.diffId) {
        throw new InvalidArgumentError(`wrong diff id calculated on extraction ${applied.digest}, expected ${layer.diffId}`);
      }
      await sn.commit(chainId, key, { labels: { ...labels, [UNCOMPRESSED_LABEL]: layer.diffId } });
    } catch (err) {
      await sn.remove(key).catch(warnOnError('diff.unpack', 'failed to remove active snapshot after a failed unpack', { key }));
      // Someone else unpacked the same chain meanwhile: use theirs.
      if (!isAlreadyExists(err)) throw err;
    }
    parent = chainId;
  }
  return parent;
}
