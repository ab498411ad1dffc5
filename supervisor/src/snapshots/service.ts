/**
 * The gRPC adapter of containerd.services.snapshots.v1.Snapshots (containerd
 * plugins/services/snapshots/service.go): proto ↔ domain, errors → status
 * codes once, here. The snapshotter is chosen per request by name from the map
 * the daemon builds from its plugins ("overlayfs", "native", "btrfs",
 * "devmapper"); namespaces are the metadata wrapper's business, not this one's.
 *
 * Seam for berthd:
 *   const def = loadSnapshotsService();              // proto-loader definition
 *   server.addService(def, snapshotsService(map, { publish }));
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { InvalidArgumentError, NotImplementedError, toGrpcCode } from '../../../proto/src/errdefs';
import { protoDir } from '../../../proto/src/loader';
import type { Mount } from '../mount/types';
import { isKind, type Info, type Kind, type Snapshotter } from './snapshotter';

export const SNAPSHOTS_PROTO = 'services/snapshots/v1/snapshots.proto';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The grpc-js service definition of containerd.services.snapshots.v1.Snapshots. */
export function loadSnapshotsService(): grpc.ServiceDefinition {
  const pkg = protoLoader.loadSync(SNAPSHOTS_PROTO, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
  const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
    containerd: { services: { snapshots: { v1: { Snapshots: grpc.ServiceClientConstructor } } } };
  };
  return loaded.containerd.services.snapshots.v1.Snapshots.service;
}

/** A snapshot event for the daemon's event service (topics as containerd's). */
export type SnapshotEvent =
  | { topic: '/snapshot/prepare'; event: { key: string; parent: string } }
  | { topic: '/snapshot/commit'; event: { key: string; name: string } }
  | { topic: '/snapshot/remove'; event: { key: string } };

export interface ServiceOptions {
  publish?: (e: SnapshotEvent) => void;
}

export interface PbTimestamp {
  seconds: number;
  nanos: number;
}

export interface PbInfo {
  name: string;
  parent: string;
  kind: string;
  createdAt: PbTimestamp | null;
  updatedAt: PbTimestamp | null;
  labels: Record<string, string>;
}

const KIND_TO_PB: Record<Kind, string> = { view: 'VIEW', active: 'ACTIVE', committed: 'COMMITTED' };

export const toTimestamp = (d: Date): PbTimestamp => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });
export const fromTimestamp = (t: PbTimestamp | null | undefined): Date => new Date((t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6));

export function infoToProto(i: Info): PbInfo {
  return { name: i.name, parent: i.parent, kind: KIND_TO_PB[i.kind], createdAt: toTimestamp(i.created), updatedAt: toTimestamp(i.updated), labels: i.labels };
}

export function infoFromProto(p: PbInfo): Info {
  const k = (p.kind ?? '').toLowerCase();
  return {
    name: p.name,
    parent: p.parent,
    kind: isKind(k) ? k : 'active',
    labels: { ...(p.labels ?? {}) },
    created: fromTimestamp(p.createdAt),
    updated: fromTimestamp(p.updatedAt),
  };
}

export const mountsToProto = (ms: Mount[]): Array<Required<Mount>> => ms.map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options }));

/** The status a handler fails with (errdefs.ToGRPC). */
export function toStatus(err: unknown): Partial<grpc.StatusObject> {
  return { code: toGrpcCode(err), details: err instanceof Error ? err.message : String(err) };
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => void;

/** Wraps an async handler: its result or its error (mapped once) goes to the callback. */
export function unary<Req, Res>(fn: (req: Req) => Promise<Res>): Unary<Req, Res> {
  return (call, cb) => {
    fn(call.request).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toStatus(err) as grpc.ServiceError),
    );
  };
}

interface Named {
  snapshotter: string;
}

/** The handlers of the Snapshots service over a name → Snapshotter map. */
export function snapshotsService(snapshotters: Map<string, Snapshotter>, opts: ServiceOptions = {}): grpc.UntypedServiceImplementation {
  const get = (req: Named): Snapshotter => {
    if (!req.snapshotter) throw new InvalidArgumentError('snapshotter argument missing');
    const sn = snapshotters.get(req.snapshotter);
    if (!sn) throw new InvalidArgumentError(`snapshotter not loaded: ${req.snapshotter}`);
    return sn;
  };
  const publish = opts.publish ?? (() => undefined);
  type KeyReq = Named & { key: string };
  type CreateReq = KeyReq & { parent: string; labels: Record<string, string> };

  const List: grpc.handleServerStreamingCall<Named & { filters: string[] }, { info: PbInfo[] }> = (call) => {
    (async () => {
      const sn = get(call.request);
      let batch: PbInfo[] = [];
      await sn.walk((i) => {
        batch.push(infoToProto(i));
        if (batch.length >= 100) {
          call.write({ info: batch });
          batch = [];
        }
      }, ...(call.request.filters ?? []));
      if (batch.length > 0) call.write({ info: batch });
      call.end();
    })().catch((err: unknown) => call.emit('error', toStatus(err)));
  };

  return {
    Prepare: unary(async (req: CreateReq) => {
      const mounts = await get(req).prepare(req.key, req.parent, { labels: req.labels });
      publish({ topic: '/snapshot/prepare', event: { key: req.key, parent: req.parent } });
      return { mounts: mountsToProto(mounts) };
    }),
    View: unary(async (req: CreateReq) => ({ mounts: mountsToProto(await get(req).view(req.key, req.parent, { labels: req.labels })) })),
    Mounts: unary(async (req: KeyReq) => ({ mounts: mountsToProto(await get(req).mounts(req.key)) })),
    Commit: unary(async (req: Named & { name: string; key: string; labels: Record<string, string> }) => {
      await get(req).commit(req.name, req.key, { labels: req.labels });
      publish({ topic: '/snapshot/commit', event: { key: req.key, name: req.name } });
      return {};
    }),
    Remove: unary(async (req: KeyReq) => {
      await get(req).remove(req.key);
      publish({ topic: '/snapshot/remove', event: { key: req.key } });
      return {};
    }),
    Stat: unary(async (req: KeyReq) => ({ info: infoToProto(await get(req).stat(req.key)) })),
    Update: unary(async (req: Named & { info: PbInfo | null; updateMask: { paths: string[] } | null }) => {
      if (!req.info?.name) throw new InvalidArgumentError('snapshot info name missing');
      const info = await get(req).update(infoFromProto(req.info), ...(req.updateMask?.paths ?? []));
      return { info: infoToProto(info) };
    }),
    List: List as grpc.UntypedHandleCall,
    Usage: unary(async (req: KeyReq) => get(req).usage(req.key)),
    Cleanup: unary(async (req: Named) => {
      const sn = get(req);
      if (!sn.cleanup) throw new NotImplementedError('snapshotter does not implement Cleanup method');
      await sn.cleanup();
      return {};
    }),
  };
}
