/**
 * A typed client of berthd (or containerd) over the v1 gRPC API: one channel,
 * every service, the namespace (and lease) sent as metadata on each call.
 * berthctl and the image library (import, pull, push) use it, as ctr uses
 * containerd's Go client.
 */
import * as grpc from '@grpc/grpc-js';
import { fromGrpc } from '../../../proto/src/errdefs';
import { serviceClient, serviceFiles } from '../../../proto/src/grpc';

type Svc = keyof typeof serviceFiles;
const names: Record<Svc, string> = {
  version: 'containerd.services.version.v1.Version',
  namespaces: 'containerd.services.namespaces.v1.Namespaces',
  introspection: 'containerd.services.introspection.v1.Introspection',
  content: 'containerd.services.content.v1.Content',
  images: 'containerd.services.images.v1.Images',
  leases: 'containerd.services.leases.v1.Leases',
  events: 'containerd.services.events.v1.Events',
  containers: 'containerd.services.containers.v1.Containers',
  snapshots: 'containerd.services.snapshots.v1.Snapshots',
  diff: 'containerd.services.diff.v1.Diff',
  tasks: 'containerd.services.tasks.v1.Tasks',
};

/** Any object coming over the wire (camelCase keys, defaults filled). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

export class Client {
  private readonly stubs = new Map<Svc, grpc.Client>();
  private channel: grpc.Channel | undefined;
  lease: string | undefined;

  constructor(
    readonly address: string,
    public namespace = 'default',
  ) {}

  private stub(svc: Svc): grpc.Client {
    let s = this.stubs.get(svc);
    if (!s) {
      const Ctor = serviceClient([serviceFiles[svc]], names[svc]);
      const target = this.address.startsWith('unix:') ? this.address : `unix:${this.address}`;
      const opts: grpc.ChannelOptions = {
        'grpc.max_receive_message_length': 16 << 20,
        'grpc.max_send_message_length': 16 << 20,
        // a client of its own: a daemon restarted on the same socket is reached at once
        'grpc.use_local_subchannel_pool': 1,
      };
      if (this.channel) opts.channelOverride = this.channel;
      s = new Ctor(target, grpc.credentials.createInsecure(), opts);
      this.channel ??= s.getChannel() as grpc.Channel;
      this.stubs.set(svc, s);
    }
    return s;
  }

  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.namespace) md.set('containerd-namespace', this.namespace);
    if (this.lease) md.set('containerd-lease', this.lease);
    return md;
  }

  /** A unary call; a gRPC error comes back as a BerthError of the matching kind. */
  call(svc: Svc, method: string, req: Msg = {}): Promise<Msg> {
    const s = this.stub(svc) as unknown as Record<string, Function>;
    return new Promise((resolve, reject) => {
      s[method].call(this.stub(svc), req, this.metadata(), (err: grpc.ServiceError | null, res: Msg) =>
        err ? reject(fromGrpc(err.code, err.details || err.message, err)) : resolve(res),
      );
    });
  }

  /** A server-streaming call, as an async iterator. */
  async *stream(svc: Svc, method: string, req: Msg = {}): AsyncGenerator<Msg> {
    const s = this.stub(svc) as unknown as Record<string, Function>;
    const call = s[method].call(this.stub(svc), req, this.metadata()) as grpc.ClientReadableStream<Msg>;
    try {
      for await (const m of call) yield m;
    } catch (err) {
      const e = err as grpc.ServiceError;
      throw typeof e.code === 'number' ? fromGrpc(e.code, e.details || e.message, e) : err;
    } finally {
      call.cancel();
    }
  }

  /** A bidirectional call (content Write). */
  duplex(svc: Svc, method: string): grpc.ClientDuplexStream<Msg, Msg> {
    const s = this.stub(svc) as unknown as Record<string, Function>;
    return s[method].call(this.stub(svc), this.metadata()) as grpc.ClientDuplexStream<Msg, Msg>;
  }

  /**
   * Runs fn under a new lease (expiring in 24 h), deleted afterwards, as ctr
   * does for pull and import. With keepOnError a failed run keeps its lease,
   * so partial ingests survive (until the expiry) for the next attempt to resume.
   */
  async withLease<T>(fn: () => Promise<T>, opts: { keepOnError?: boolean } = {}): Promise<T> {
    const expire = new Date(Date.now() + 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const { lease } = await this.call('leases', 'Create', { labels: { 'containerd.io/gc.expire': expire } });
    const prev = this.lease;
    this.lease = lease.id;
    let ok = false;
    try {
      const out = await fn();
      ok = true;
      return out;
    } finally {
      this.lease = prev;
      if (ok || !opts.keepOnError) await this.call('leases', 'Delete', { id: lease.id }).catch(() => undefined);
    }
  }

  close(): void {
    for (const s of this.stubs.values()) s.close();
    this.stubs.clear();
  }
}
