/** containerd.services.containers.v1.Containers over ContainersLocal. */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Exchange } from '../../events/exchange';
import type { Container } from '../../metadata/containers';
import type { Metadata } from '../../metadata/plugin';
import { maskPaths, serverStream, unary } from '../grpc-util';
import { grpcService } from '../register';
import { ContainersLocal } from './local';

register({
  type: PluginType.Service,
  id: 'containers-service',
  requires: [PluginType.Metadata, PluginType.Event],
  init: (ic) => new ContainersLocal(ic.get<Metadata>(PluginType.Metadata), ic.get<Exchange>(PluginType.Event)),
});

const need = (c: Container | null): Container => {
  if (!c) throw new InvalidArgumentError('container must be set: invalid argument');
  return { ...c, runtime: c.runtime ?? { name: '', options: null } };
};

register({
  type: PluginType.GRPC,
  id: 'containers',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<ContainersLocal>(PluginType.Service, 'containers-service');
    return grpcService(serviceFiles.containers, 'containerd.services.containers.v1.Containers', {
      Get: unary(ic.log, (req: { id: string }, ctx) => ({ container: l.get(ctx.namespace(), req.id) })),
      List: unary(ic.log, (req: { filters: string[] }, ctx) => ({ containers: l.list(ctx.namespace(), req.filters) })),
      ListStream: serverStream(ic.log, async (req: { filters: string[] }, send, ctx) => {
        for (const c of l.list(ctx.namespace(), req.filters)) await send({ container: c });
      }),
      Create: unary(ic.log, (req: { container: Container | null }, ctx) => ({ container: l.create(ctx.namespace(), need(req.container)) })),
      Update: unary(ic.log, (req: { container: Container | null; updateMask: { paths: string[] } | null }, ctx) => ({
        container: l.update(ctx.namespace(), need(req.container), maskPaths(req.updateMask)),
      })),
      Delete: unary(ic.log, (req: { id: string }, ctx) => l.delete(ctx.namespace(), req.id)),
    });
  },
});
