/**
 * containerd.services.diff.v1.Diff over the walking differ (containerd
 * services/diff/service.go + local.go): Apply unpacks a layer from the
 * namespace's content onto mounts; Diff writes the changes between two mount
 * sets to the content store as a layer.
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { serviceFiles } from '../../../../proto/src/grpc';
import { hostPlatforms } from '../../snapshots/plugin-types';
import { PluginType, register } from '../../daemon/plugins';
import type { Descriptor } from '../../diff/content';
import type { Metadata } from '../../metadata/plugin';
import type { Mount } from '../../mount/types';
import { mountsFromProto } from '../../snapshots/wire';
import { unary } from '../grpc-util';
import { grpcService, leaseOf } from '../register';
import { DiffLocal } from './local';

register({
  type: PluginType.Differ,
  id: 'walking',
  requires: [PluginType.Metadata],
  platforms: hostPlatforms(),
  init: (ic) => new DiffLocal(ic.get<Metadata>(PluginType.Metadata).content),
});

interface PbDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

const toPb = (d: Descriptor): PbDescriptor => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} });

register({
  type: PluginType.GRPC,
  id: 'diff',
  requires: [PluginType.Differ],
  init: (ic) => {
    const l = ic.getByID<DiffLocal>(PluginType.Differ, 'walking');
    return grpcService(serviceFiles.diff, 'containerd.services.diff.v1.Diff', {
      Apply: unary(ic.log, async (req: { diff: PbDescriptor | null; mounts: Mount[] }, ctx) => {
        if (!req.diff?.digest) throw new InvalidArgumentError('diff descriptor must be set: invalid argument');
        const desc = { mediaType: req.diff.mediaType, digest: req.diff.digest, size: Number(req.diff.size), annotations: req.diff.annotations };
        return { applied: toPb(await l.differ(ctx.namespace(), leaseOf(ctx.metadata)).apply(desc, mountsFromProto(req.mounts))) };
      }),
      Diff: unary(ic.log, async (req: { left: Mount[]; right: Mount[]; mediaType: string; ref: string; labels: Record<string, string> }, ctx) => {
        const d = await l.differ(ctx.namespace(), leaseOf(ctx.metadata)).diff(mountsFromProto(req.left), mountsFromProto(req.right), { mediaType: req.mediaType, ref: req.ref, labels: req.labels });
        return { diff: toPb(d) };
      }),
    });
  },
});
