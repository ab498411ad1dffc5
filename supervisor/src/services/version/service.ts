/** containerd.services.version.v1.Version. */
import { register, PluginType } from '../../daemon/plugins';
import { serviceFiles } from '../../../../proto/src/grpc';
import { grpcService } from '../register';
import { unary } from '../grpc-util';

/** Replaced at bundle time (scripts/build.mjs may define these); "dev" in the source tree. */
export const VERSION = process.env.BERTH_VERSION ?? '0.1.0';
export const REVISION = process.env.BERTH_REVISION ?? 'dev';

register({
  type: PluginType.GRPC,
  id: 'version',
  init: (ic) =>
    grpcService(serviceFiles.version, 'containerd.services.version.v1.Version', {
      Version: unary(ic.log, () => ({ version: VERSION, revision: REVISION })),
    }),
});
