/** containerd.services.images.v1.Images over ImagesLocal. */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Exchange } from '../../events/exchange';
import type { GCScheduler } from '../../metadata/gc';
import type { Image } from '../../metadata/images';
import type { Metadata } from '../../metadata/plugin';
import { maskPaths, unary } from '../grpc-util';
import { grpcService } from '../register';
import { ImagesLocal } from './local';

register({
  type: PluginType.Service,
  id: 'images-service',
  requires: [PluginType.Metadata, PluginType.Event, PluginType.GC],
  init: (ic) => new ImagesLocal(ic.get<Metadata>(PluginType.Metadata), ic.get<Exchange>(PluginType.Event), ic.get<GCScheduler>(PluginType.GC)),
});

const need = (img: Image | null): Image => {
  if (!img) throw new InvalidArgumentError('image must be set: invalid argument');
  return img;
};

register({
  type: PluginType.GRPC,
  id: 'images',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<ImagesLocal>(PluginType.Service, 'images-service');
    return grpcService(serviceFiles.images, 'containerd.services.images.v1.Images', {
      Get: unary(ic.log, (req: { name: string }, ctx) => ({ image: l.get(ctx.namespace(), req.name) })),
      List: unary(ic.log, (req: { filters: string[] }, ctx) => ({ images: l.list(ctx.namespace(), req.filters) })),
      Create: unary(ic.log, (req: { image: Image | null }, ctx) => ({ image: l.create(ctx.namespace(), need(req.image)) })),
      Update: unary(ic.log, (req: { image: Image | null; updateMask: { paths: string[] } | null }, ctx) => ({
        image: l.update(ctx.namespace(), need(req.image), maskPaths(req.updateMask)),
      })),
      Delete: unary(ic.log, (req: { name: string; sync: boolean }, ctx) => l.delete(ctx.namespace(), req.name, req.sync)),
    });
  },
});
