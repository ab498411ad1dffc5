/** The Diff service of a daemon (berthd or containerd) as an Applier/Comparer, in the client's namespace and lease. */
import type { Descriptor } from '../diff/content';
import type { DiffOptions } from '../diff/local';
import type { Mount } from '../snapshots/snapshotter';
import { mountsToProto } from '../snapshots/wire';
import type { Client, Msg } from './client';

const fromPb = (d: Msg): Descriptor => ({ mediaType: d.mediaType, digest: d.digest, size: Number(d.size), annotations: d.annotations ?? {} });

export class RemoteDiff {
  constructor(private readonly client: Client) {}

  /** Applies the layer desc onto mounts; resolves to the applied (uncompressed) descriptor. */
  async apply(desc: Descriptor, mounts: Mount[]): Promise<Descriptor> {
    const res = await this.client.call('diff', 'Apply', { diff: { ...desc, annotations: desc.annotations ?? {} }, mounts: mountsToProto(mounts) });
    return fromPb(res.applied);
  }

  /** Writes the changes from lower to upper as a layer in the daemon's content store. */
  async diff(lower: Mount[], upper: Mount[], opts: DiffOptions = {}): Promise<Descriptor> {
    const res = await this.client.call('diff', 'Diff', { left: mountsToProto(lower), right: mountsToProto(upper), mediaType: opts.mediaType ?? '', ref: opts.ref ?? '', labels: opts.labels ?? {} });
    return fromPb(res.diff);
  }
}
