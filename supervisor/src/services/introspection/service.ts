/** containerd.services.introspection.v1.Introspection over IntrospectionLocal. */
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import { unary } from '../grpc-util';
import { grpcService } from '../register';
import { IntrospectionLocal } from './local';

register({
  type: PluginType.GRPC,
  id: 'introspection',
  requires: ['*'],
  init: (ic) => {
    const l = new IntrospectionLocal(ic.entries, ic.root);
    return grpcService(serviceFiles.introspection, 'containerd.services.introspection.v1.Introspection', {
      Plugins: unary(ic.log, (req: { filters: string[] }) => ({ plugins: l.plugins(req.filters) })),
      Server: unary(ic.log, () => l.server()),
    });
  },
});
