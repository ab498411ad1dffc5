/**
 * containerd.services.snapshots.v1.Snapshots over SnapshotsLocal (containerd
 * services/snapshots/service.go): the snapshotter is chosen per request by
 * name, the namespace by the containerd-namespace header, the lease by
 * containerd-lease.
 */
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Exchange } from '../../events/exchange';
import type { Metadata } from '../../metadata/plugin';
import { setLogger } from '../../snapshots/log';
import type { Info, Snapshotter } from '../../snapshots/snapshotter';
import { infoFromProto, infoToProto, mountsToProto, type PbInfo } from '../../snapshots/wire';
import { maskPaths, serverStream, unary } from '../grpc-util';
import { grpcService, leaseOf } from '../register';
import { SnapshotsLocal } from './local';

register({
  type: PluginType.Service,
  id: 'snapshots-service',
  requires: [PluginType.Metadata, PluginType.Snapshot, PluginType.Event],
  init: (ic) => {
    setLogger(ic.log);
    return new SnapshotsLocal(ic.get<Metadata>(PluginType.Metadata), ic.getAll<Snapshotter>(PluginType.Snapshot), ic.get<Exchange>(PluginType.Event), ic.log);
  },
});

interface Named {
  snapshotter: string;
}
type KeyReq = Named & { key: string };
type CreateReq = KeyReq & { parent: string; labels: Record<string, string> };

/** ListSnapshotsResponse batches, as containerd's service sends them. */
const LIST_BATCH = 100;

register({
  type: PluginType.GRPC,
  id: 'snapshots',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<SnapshotsLocal>(PluginType.Service, 'snapshots-service');
    return grpcService(serviceFiles.snapshots, 'containerd.services.snapshots.v1.Snapshots', {
      Prepare: unary(ic.log, async (req: CreateReq, ctx) => ({
        mounts: mountsToProto(await l.prepare(ctx.namespace(), leaseOf(ctx.metadata), req.snapshotter, req.key, req.parent, { labels: req.labels })),
      })),
      View: unary(ic.log, async (req: CreateReq, ctx) => ({
        mounts: mountsToProto(await l.view(ctx.namespace(), leaseOf(ctx.metadata), req.snapshotter, req.key, req.parent, { labels: req.labels })),
      })),
      Mounts: unary(ic.log, async (req: KeyReq, ctx) => ({ mounts: mountsToProto(await l.mounts(ctx.namespace(), req.snapshotter, req.key)) })),
      Commit: unary(ic.log, async (req: KeyReq & { name: string; labels: Record<string, string> }, ctx) => {
        await l.commit(ctx.namespace(), leaseOf(ctx.metadata), req.snapshotter, req.name, req.key, { labels: req.labels });
        return {};
      }),
      Remove: unary(ic.log, (req: KeyReq, ctx) => {
        l.remove(ctx.namespace(), leaseOf(ctx.metadata), req.snapshotter, req.key);
        return {};
      }),
      Stat: unary(ic.log, async (req: KeyReq, ctx) => ({ info: infoToProto(await l.stat(ctx.namespace(), req.snapshotter, req.key)) })),
      Update: unary(ic.log, async (req: Named & { info: PbInfo | null; updateMask: { paths: string[] } | null }, ctx) => {
        const info: Info = req.info ? infoFromProto(req.info) : { kind: 'active', name: '', parent: '', labels: {}, created: new Date(0), updated: new Date(0) };
        return { info: infoToProto(await l.update(ctx.namespace(), req.snapshotter, info, maskPaths(req.updateMask))) };
      }),
      List: serverStream(ic.log, async (req: Named & { filters: string[] }, send, ctx) => {
        let batch: PbInfo[] = [];
        await l.walk(ctx.namespace(), req.snapshotter, async (i) => {
          batch.push(infoToProto(i));
          if (batch.length >= LIST_BATCH) {
            await send({ info: batch });
            batch = [];
          }
        }, req.filters);
        if (batch.length > 0) await send({ info: batch });
      }),
      Usage: unary(ic.log, async (req: KeyReq, ctx) => l.usage(ctx.namespace(), req.snapshotter, req.key)),
      Cleanup: unary(ic.log, async (req: Named) => {
        await l.cleanup(req.snapshotter); // every namespace's records count: no namespace needed
        return {};
      }),
    });
  },
});
