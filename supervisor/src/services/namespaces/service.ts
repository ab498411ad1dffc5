/** containerd.services.namespaces.v1.Namespaces over NamespacesLocal. */
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Exchange } from '../../events/exchange';
import type { Metadata } from '../../metadata/plugin';
import { maskPaths, namespaceOf, unary } from '../grpc-util';
import { grpcService } from '../register';
import { NamespacesLocal } from './local';

register({
  type: PluginType.Service,
  id: 'namespaces-service',
  requires: [PluginType.Metadata, PluginType.Event],
  init: (ic) => new NamespacesLocal(ic.get<Metadata>(PluginType.Metadata), ic.get<Exchange>(PluginType.Event)),
});

type Ns = { name: string; labels: Record<string, string> };

register({
  type: PluginType.GRPC,
  id: 'namespaces',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<NamespacesLocal>(PluginType.Service, 'namespaces-service');
    return grpcService(serviceFiles.namespaces, 'containerd.services.namespaces.v1.Namespaces', {
      Get: unary(ic.log, (req: { name: string }) => ({ namespace: l.get(req.name) })),
      List: unary(ic.log, () => ({ namespaces: l.list() })),
      Create: unary(ic.log, (req: { namespace: Ns | null }, ctx) => ({ namespace: l.create(req.namespace ?? { name: '', labels: {} }, namespaceOf(ctx.metadata)) })),
      Update: unary(ic.log, (req: { namespace: Ns | null; updateMask: { paths: string[] } | null }, ctx) => ({
        namespace: l.update(req.namespace ?? { name: '', labels: {} }, maskPaths(req.updateMask), namespaceOf(ctx.metadata)),
      })),
      Delete: unary(ic.log, (req: { name: string }, ctx) => l.delete(req.name, namespaceOf(ctx.metadata))),
    });
  },
});
