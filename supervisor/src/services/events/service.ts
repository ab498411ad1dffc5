/**
 * containerd.services.events.v1.Events over the exchange. Publish stamps the
 * caller's namespace; Forward keeps the envelope's (the shim's ttrpc Forward
 * will call exchange.forward the same way).
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Envelope, Exchange } from '../../events/exchange';
import { now, serverStream, unary } from '../grpc-util';
import { grpcService } from '../register';

register({
  type: PluginType.GRPC,
  id: 'events',
  requires: [PluginType.Event],
  init: (ic) => {
    const ex = ic.get<Exchange>(PluginType.Event);
    return grpcService(serviceFiles.events, 'containerd.services.events.v1.Events', {
      Publish: unary(ic.log, (req: { topic: string; event: Envelope['event'] }, ctx) => {
        if (!req.event) throw new InvalidArgumentError('event must be set: invalid argument');
        ex.publish(ctx.namespace(), req.topic, req.event);
      }),
      Forward: unary(ic.log, (req: { envelope: Envelope | null }) => {
        if (!req.envelope) throw new InvalidArgumentError('envelope must be set: invalid argument');
        ex.forward({ ...req.envelope, timestamp: req.envelope.timestamp ?? now() });
      }),
      Subscribe: serverStream(ic.log, (req: { filters: string[] }, send, _ctx, call) => {
        return new Promise<void>((resolve) => {
          const queue: Envelope[] = [];
          let busy = false;
          const pump = async () => {
            if (busy) return;
            busy = true;
            while (queue.length && !call.cancelled) await send(queue.shift()!).catch(() => undefined);
            busy = false;
          };
          const off = ex.subscribe(req.filters, (env) => {
            queue.push(env);
            void pump();
          });
          call.on('cancelled', () => {
            off();
            resolve();
          });
          call.on('close', () => {
            off();
            resolve();
          });
        });
      }),
    });
  },
});
