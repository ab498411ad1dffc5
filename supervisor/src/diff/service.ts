/**
 * The gRPC adapter of containerd.services.diff.v1.Diff (containerd
 * plugins/services/diff/service.go): proto ↔ domain, errors → status once.
 *
 * Seam for berthd:
 *   server.addService(loadDiffService(), diffService(new DiffService(contentStore)));
 * where contentStore implements supervisor/src/diff/content.ts ContentStore.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { protoDir } from '../../../proto/src/loader';
import type { Mount } from '../mount/types';
import { PROTO_LOADER_OPTIONS, unary } from '../snapshots/service';
import type { Descriptor } from './content';
import type { DiffService } from './local';

export const DIFF_PROTO = 'services/diff/v1/diff.proto';

export function loadDiffService(): grpc.ServiceDefinition {
  const pkg = protoLoader.loadSync(DIFF_PROTO, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    containerd: { services: { diff: { v1: { Diff: grpc.ServiceClientConstructor } } } };
  };
  return loaded.containerd.services.diff.v1.Diff.service;
}

interface PbDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

const toPb = (d: Descriptor): PbDescriptor => ({ mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations ?? {} });
const mountsFromPb = (ms: Mount[] | undefined): Mount[] => (ms ?? []).map((m) => ({ type: m.type, source: m.source, target: m.target, options: m.options ?? [] }));

export function diffService(diff: DiffService): grpc.UntypedServiceImplementation {
  return {
    Apply: unary(async (req: { diff: PbDescriptor | null; mounts: Mount[] }) => {
      if (!req.diff?.digest) throw new InvalidArgumentError('apply: diff descriptor missing');
      const applied = await diff.apply({ mediaType: req.diff.mediaType, digest: req.diff.digest, size: Number(req.diff.size) }, mountsFromPb(req.mounts));
      return { applied: toPb(applied) };
    }),
    Diff: unary(async (req: { left: Mount[]; right: Mount[]; mediaType: string; ref: string; labels: Record<string, string> }) => {
      const d = await diff.diff(mountsFromPb(req.left), mountsFromPb(req.right), { mediaType: req.mediaType, ref: req.ref, labels: req.labels });
      return { diff: toPb(d) };
    }),
  };
}
