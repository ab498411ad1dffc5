/**
 * The unpacker (containerd unpacker.go doUnpackFn, rootfs.ApplyLayers): turns
 * an image's layers into committed snapshots keyed by chain IDs.
 *
 * chainID(1) = diffID(1); chainID(n) = sha256(chainID(n-1) + " " + diffID(n))
 * (OCI image-spec config.md). A layer whose chain ID exists (Stat) is reused.
 * Otherwise an active snapshot "extract-<unique> <chainID>" is prepared on the
 * previous chain ID, labelled containerd.io/snapshot.ref=<chainID> (the
 * "target", so a concurrent unpack of the same chain in the namespace gets
 * AlreadyExists and reuses the winner's), the layer is applied, the applied
 * digest must equal the diff ID, and the snapshot is committed under the
 * chain ID with the same labels. On any error the active snapshot is removed:
 * no half-made snapshot stays visible.
 */
import * as crypto from 'node:crypto';
import { isAlreadyExists, isNotFound, InvalidArgumentError } from '../../../proto/src/errdefs';
import { INHERITED_LABEL_PREFIX, LABEL_SNAPSHOT_REF } from '../metadata/labels';
import type { Mount, Snapshotter } from '../snapshots/snapshotter';
import type { Descriptor } from './content';
import { warnOnError } from '../snapshots/log';

export interface Layer {
  /** The layer blob in the content store. */
  blob: Descriptor;
  /** Its uncompressed digest (from the image config's rootfs.diff_ids). */
  diffId: string;
}

/** What applies a layer onto mounts: the DiffService in process, or a daemon's Diff service. */
export interface Applier {
  apply(desc: Descriptor, mounts: Mount[]): Promise<Descriptor>;
}

export interface UnpackOptions {
  /** Called after a layer was applied and committed (not for reused ones): the caller labels the blob. */
  onUnpacked?: (layer: Layer, chainId: string) => Promise<void>;
}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    out.push(out.length === 0 ? d : `sha256:${crypto.createHash('sha256').update(`${out[out.length - 1]} ${d}`).digest('hex')}`);
  }
  return out;
}

/** containerd's uniquePart(): nanoseconds and 3 random bytes, base64url. */
const uniquePart = (): string => `${process.hrtime.bigint() % 1_000_000_000n}-${crypto.randomBytes(3).toString('base64url')}`;

const exists = (sn: Snapshotter, key: string): Promise<boolean> =>
  sn.stat(key).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw new Error(`failed to stat snapshot ${key}: ${(err as Error).message}`, { cause: err });
    },
  );

/** Unpacks layers onto sn; resolves to the chain ID of the top layer (the image's rootfs parent). */
export async function unpackLayers(sn: Snapshotter, applier: Applier, layers: Layer[], opts: UnpackOptions = {}): Promise<string> {
  const chain = chainIds(layers.map((l) => l.diffId));
  for (const [i, layer] of layers.entries()) {
    const chainId = chain[i];
    const parent = i === 0 ? '' : chain[i - 1];
    if (await exists(sn, chainId)) continue;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(layer.blob.annotations ?? {})) if (k.startsWith(INHERITED_LABEL_PREFIX)) labels[k] = v;
    labels[LABEL_SNAPSHOT_REF] = chainId;

    let key = '';
    let mounts: Mount[] | undefined;
    for (let attempt = 1; attempt <= 3 && !mounts; attempt++) {
      key = `extract-${uniquePart()} ${chainId}`;
      try {
        mounts = await sn.prepare(key, parent, { labels });
      } catch (err) {
        if (!isAlreadyExists(err)) throw new Error(`failed to prepare extraction snapshot ${JSON.stringify(key)}: ${(err as Error).message}`, { cause: err });
        if (await exists(sn, chainId)) break; // made by someone else meanwhile
      }
    }
    if (!mounts) {
      if (await exists(sn, chainId)) continue;
      throw new Error(`unable to prepare extraction snapshot for ${chainId}`);
    }
    const abort = () => sn.remove(key).catch(warnOnError('diff.unpack', 'failed to remove active snapshot after a failed unpack', { key }));
    let applied: Descriptor;
    try {
      applied = await applier.apply(layer.blob, mounts);
    } catch (err) {
      await abort();
      throw new Error(`failed to extract layer ${layer.diffId}: ${(err as Error).message}`, { cause: err });
    }
    if (applied.digest !== layer.diffId) {
      await abort();
      throw new InvalidArgumentError(`wrong diff id calculated on extraction ${JSON.stringify(applied.digest)}, expected ${JSON.stringify(layer.diffId)}`);
    }
    try {
      await sn.commit(chainId, key, { labels });
    } catch (err) {
      await abort();
      if (isAlreadyExists(err)) continue; // someone else committed the same chain: theirs is used
      throw new Error(`failed to commit snapshot ${key}: ${(err as Error).message}`, { cause: err });
    }
    await opts.onUnpacked?.(layer, chainId);
  }
  return chain[chain.length - 1] ?? '';
}
