/** containerd.services.leases.v1.Leases over LeasesLocal. */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { GCScheduler } from '../../metadata/gc';
import type { LeaseResource } from '../../metadata/leases';
import type { Metadata } from '../../metadata/plugin';
import { unary } from '../grpc-util';
import { grpcService } from '../register';
import { LeasesLocal } from './local';

register({
  type: PluginType.Service,
  id: 'leases-service',
  requires: [PluginType.Metadata, PluginType.GC],
  init: (ic) => new LeasesLocal(ic.get<Metadata>(PluginType.Metadata), ic.get<GCScheduler>(PluginType.GC)),
});

const resource = (r: LeaseResource | null): LeaseResource => {
  if (!r) throw new InvalidArgumentError('resource must be set: invalid argument');
  return r;
};

register({
  type: PluginType.GRPC,
  id: 'leases',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<LeasesLocal>(PluginType.Service, 'leases-service');
    return grpcService(serviceFiles.leases, 'containerd.services.leases.v1.Leases', {
      Create: unary(ic.log, (req: { id: string; labels: Record<string, string> }, ctx) => ({ lease: l.create(ctx.namespace(), req.id, req.labels) })),
      Delete: unary(ic.log, (req: { id: string; sync: boolean }, ctx) => l.delete(ctx.namespace(), req.id, req.sync)),
      List: unary(ic.log, (req: { filters: string[] }, ctx) => ({ leases: l.list(ctx.namespace(), req.filters) })),
      AddResource: unary(ic.log, (req: { id: string; resource: LeaseResource | null }, ctx) => l.addResource(ctx.namespace(), req.id, resource(req.resource))),
      DeleteResource: unary(ic.log, (req: { id: string; resource: LeaseResource | null }, ctx) =>
        l.deleteResource(ctx.namespace(), req.id, resource(req.resource)),
      ),
      ListResources: unary(ic.log, (req: { id: string }, ctx) => ({ resources: l.listResources(ctx.namespace(), req.id) })),
    });
  },
});
