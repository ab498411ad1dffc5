/**
 * What every service adapter shares: the namespace of a call (the
 * containerd-namespace header, or its ttrpc variant), error → status mapping
 * (once, through proto/src/errdefs), and timestamps.
 */
import * as grpc from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError, kindOf, toGrpcCode } from '../../../proto/src/errdefs';
import type { Logger } from '../daemon/logging';

export const NAMESPACE_HEADER = 'containerd-namespace';
export const NAMESPACE_HEADER_TTRPC = 'containerd-namespace-ttrpc';

const identifier = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** containerd's identifiers.Validate: alphanumerics joined by . _ -, at most 76 characters. */
export function validateIdentifier(s: string, what = 'identifier'): string {
  if (s === '') throw new InvalidArgumentError(`${what} must not be empty`);
  if (s.length > 76) throw new InvalidArgumentError(`${what} ${JSON.stringify(s)} greater than maximum length (76 characters)`);
  if (!identifier.test(s)) throw new InvalidArgumentError(`${what} ${JSON.stringify(s)} must match ${identifier.source}`);
  return s;
}

/** The namespace a call is scoped to, or undefined. */
export function namespaceOf(md: grpc.Metadata): string | undefined {
  for (const h of [NAMESPACE_HEADER, NAMESPACE_HEADER_TTRPC]) {
    const v = md.get(h);
    if (v.length > 0) return String(v[0]);
  }
  return undefined;
}

/** The required namespace of a call (containerd's namespaces.NamespaceRequired). */
export function requireNamespace(md: grpc.Metadata): string {
  const ns = namespaceOf(md);
  if (!ns) throw new FailedPreconditionError('namespace is required: failed precondition');
  return validateIdentifier(ns, 'namespace');
}

export interface CallContext {
  metadata: grpc.Metadata;
  /** Lazily required namespace. */
  namespace(): string;
  cancelled(): boolean;
}

function contextOf(call: { metadata: grpc.Metadata; cancelled?: boolean }): CallContext {
  return {
    metadata: call.metadata,
    namespace: () => requireNamespace(call.metadata),
    cancelled: () => Boolean(call.cancelled),
  };
}

/** Turns an error into a gRPC status (errdefs kinds → codes; anything else UNKNOWN and logged). */
export function toStatus(err: unknown, log?: Logger): Partial<grpc.StatusObject> {
  const code = toGrpcCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (!kindOf(err) && log) log.error('unexpected error in request', { err: message, stack: (err as Error)?.stack });
  return { code, details: message, metadata: new grpc.Metadata() };
}

type Unary<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res> | Res;

export function unary<Req, Res>(log: Logger, fn: Unary<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, contextOf(call)))
      .then(
        (res) => callback(null, res ?? ({} as Res)),
        (err) => callback(toStatus(err, log) as grpc.ServiceError),
      );
  };
}

type ServerStream<Req, Res> = (req: Req, send: (msg: Res) => Promise<void>, ctx: CallContext, call: grpc.ServerWritableStream<Req, Res>) => Promise<void>;

/** A server-streaming handler; `send` waits for the stream to drain (back-pressure). */
export function serverStream<Req, Res>(log: Logger, fn: ServerStream<Req, Res>): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const send = (msg: Res): Promise<void> =>
      new Promise((resolve, reject) => {
        if (call.cancelled) return reject(new Error('cancelled'));
        if (call.write(msg)) resolve();
        else call.once('drain', () => resolve());
      });
    Promise.resolve()
      .then(() => fn(call.request, send, contextOf(call), call))
      .then(
        () => call.end(),
        (err) => {
          if (!call.cancelled) call.emit('error', toStatus(err, log));
        },
      );
  };
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

const epochBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

/** Now as a protobuf Timestamp with nanoseconds (times are stored in this form). */
export function now(): Timestamp {
  const ns = epochBase + process.hrtime.bigint();
  return { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) };
}

/** RFC 3339 with nanoseconds, as Go prints times (filters and labels use it). */
export function timestampToRfc3339(ts: Timestamp): string {
  const iso = new Date(ts.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return ts.nanos ? `${iso}.${String(ts.nanos).padStart(9, '0').replace(/0+$/, '')}Z` : `${iso}Z`;
}

/** Field mask paths of an update request (undefined/empty → none). */
export function maskPaths(mask: { paths?: string[] } | null | undefined): string[] {
  return mask?.paths ?? [];
}

/** A Date as a protobuf Timestamp. */
export function dateToTimestamp(d: Date): Timestamp {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}
