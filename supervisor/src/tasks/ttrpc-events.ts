/**
 * The ttrpc endpoint shims forward their task events to
 * (containerd.services.events.ttrpc.v1.Events/Forward, containerd's
 * services/events/ttrpc.go), on <grpc address>.ttrpc as containerd's
 * default [ttrpc] address. Each envelope keeps the shim's namespace, topic
 * and timestamp and goes onto the event exchange, where the events service's
 * subscribers (ctr events) and the shim manager's waiters see it.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { TtrpcServer } from '../../../shim/src/ttrpc/server';
import type { Logger } from '../daemon/logging';
import type { Exchange } from '../events/exchange';
import { now } from '../services/grpc-util';
import { EVENTS_SERVICE, taskRoot } from './protos';

interface ForwardRequest {
  envelope?: {
    timestamp?: { seconds: number; nanos: number } | null;
    namespace: string;
    topic: string;
    event?: { type_url: string; value: Uint8Array } | null;
  } | null;
}

export class TtrpcEventsServer {
  private readonly server: TtrpcServer;
  private readonly listener: net.Server;

  private constructor(readonly address: string, exchange: Exchange, log: Logger) {
    this.server = new TtrpcServer({
      onError: (err, ctx) => log.warn('ttrpc request failed', { method: ctx.method, err: (err as Error).message }),
    });
    const svc = taskRoot().lookupService(EVENTS_SERVICE);
    const method = svc.methods.Forward;
    method.resolve();
    const fwd = method.resolvedRequestType!;
    this.server.addService(svc, {
      Forward: async (req) => {
        const r = fwd.toObject(req, { longs: Number, defaults: true }) as ForwardRequest;
        const env = r.envelope;
        if (!env) throw new InvalidArgumentError('envelope must be set: invalid argument');
        exchange.forward({
          timestamp: env.timestamp ?? now(),
          namespace: env.namespace,
          topic: env.topic,
          event: env.event ? { type_url: env.event.type_url, value: Buffer.from(env.event.value ?? []) } : null,
        });
        log.debug('forwarded shim event', { component: 'tasks.events', namespace: env.namespace, topic: env.topic });
        return {};
      },
    });
    this.listener = net.createServer();
    this.server.serve(this.listener);
  }

  /** Listens on `address` (a stale socket of a killed daemon is replaced: the root lock says it is ours). */
  static async listen(address: string, exchange: Exchange, log: Logger): Promise<TtrpcEventsServer> {
    const s = new TtrpcEventsServer(address, exchange, log);
    fs.rmSync(address, { force: true });
    const listening = new Promise<void>((resolve, reject) => {
      s.listener.once('error', reject);
      s.listener.once('listening', () => {
        s.listener.off('error', reject);
        resolve();
      });
    });
    const umask = process.umask(0o177); // bind() runs inside listen(): the socket is 0600 from the start
    try {
      s.listener.listen(address);
    } finally {
      process.umask(umask);
    }
    await listening;
    s.listener.on('error', (err) => log.error('ttrpc listener failed', { err: err.message }));
    return s;
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.address, { force: true });
  }
}
