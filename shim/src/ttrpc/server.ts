/**
 * A ttrpc server on `net` sockets (containerd/ttrpc server.go + services.go).
 *
 * Handlers are registered per service and method and receive the raw request
 * payload; `addService` wraps typed handlers with a protobufjs Service so that
 * decoding, encoding and error → Status mapping happen here, once.
 *
 * Requests on one connection are served concurrently; each response goes out
 * on the request's stream id as soon as its handler settles.
 */
import * as net from 'node:net';
import type * as protobuf from 'protobufjs';
import {
  FrameDecoder,
  MessageType,
  MESSAGE_LENGTH_MAX,
  decodeRequest,
  encodeFrame,
  encodeResponse,
  type KeyValue,
  type Status,
} from './framing';
import { GrpcCode, statusFromError, TtrpcStatusError } from './status';

export interface CallContext {
  service: string;
  method: string;
  metadata: KeyValue[];
  /** Aborted when the caller's deadline passes or the connection closes. */
  signal: AbortSignal;
}

export type RawHandler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

/** A typed handler: a decoded request in, a plain response object out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (req: any, ctx: CallContext) => Promise<object>;

export interface ServerOptions {
  /** Called with every handler error, for logging. */
  onError?: (err: unknown, ctx: CallContext) => void;
  /** Called after every response (e.g. to schedule idle work). */
  onSettled?: () => void;
}

export class TtrpcServer {
  private readonly services = new Map<string, Map<string, RawHandler>>();
  private readonly servers: net.Server[] = [];
  private readonly connections = new Map<net.Socket, { decoder: FrameDecoder; inflight: Set<AbortController> }>();

  constructor(private readonly options: ServerOptions = {}) {}

  /** Registers one raw method (payload bytes in and out). */
  register(service: string, method: string, handler: RawHandler): void {
    let methods = this.services.get(service);
    if (!methods) this.services.set(service, (methods = new Map()));
    methods.set(method, handler);
  }

  /**
   * Registers every method of a protobufjs service. A method missing from
   * `impl` answers Unimplemented, as an unknown one does.
   */
  addService(service: protobuf.Service, impl: Record<string, Handler>): void {
    const name = service.fullName.replace(/^\./, '');
    for (const m of service.methodsArray) {
      const fn = impl[m.name];
      if (!fn) continue;
      m.resolve();
      const reqType = m.resolvedRequestType!;
      const resType = m.resolvedResponseType!;
      this.register(name, m.name, async (payload, ctx) => {
        let req: protobuf.Message;
        try {
          req = reqType.decode(payload);
        } catch (err) {
          throw new TtrpcStatusError(GrpcCode.INTERNAL, `ttrpc: error unmarshalling payload: ${(err as Error).message}`);
        }
        const res = await fn(req, ctx);
        return resType.encode(resType.fromObject(res)).finish();
      });
    }
  }

  /** Serves on an existing listening server (e.g. one listening on an inherited fd). */
  serve(server: net.Server): void {
    this.servers.push(server);
    server.on('connection', (sock) => this.handleConnection(sock));
  }

  /** Closes the listeners and every connection. */
  close(): void {
    for (const s of this.servers) s.close();
    for (const c of this.connections.keys()) c.destroy();
    this.connections.clear();
  }

  /**
   * For hibernation: stops reading every connection and returns them, if
   * none has a request in flight, part of a frame read or bytes not yet
   * written; otherwise reads on and returns undefined. What arrives while
   * paused stays in the kernel for the next server.
   */
  pause(): net.Socket[] | undefined {
    const socks = [...this.connections.keys()];
    for (const s of socks) s.pause();
    if (!this.quiet(socks)) {
      this.resume();
      return undefined;
    }
    return socks;
  }

  /** `socks` are still all the connections, and none has anything under way. */
  quiet(socks: net.Socket[]): boolean {
    if (socks.length !== this.connections.size || socks.some((s) => !this.connections.has(s))) return false;
    return [...this.connections].every(([s, c]) =>
      c.inflight.size === 0 && c.decoder.pending === 0 && s.writableLength === 0 && s.readableLength === 0);
  }

  /** Reads the connections again (a hibernation given up). */
  resume(): void {
    for (const s of this.connections.keys()) s.resume();
  }

  /** Serves a connection a previous server accepted (handed over by the reaper). */
  adopt(fd: number): void {
    this.handleConnection(new net.Socket({ fd, readable: true, writable: true }));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Serves one connected socket (also usable with a socketpair end). */
  handleConnection(sock: net.Socket): void {
    const inflight = new Set<AbortController>();
    const send = (streamId: number, status: Status | undefined, payload: Uint8Array): void => {
      if (sock.destroyed) return;
      let body = encodeResponse({ status, payload });
      if (body.length > MESSAGE_LENGTH_MAX) {
        body = encodeResponse({
          status: { code: GrpcCode.RESOURCE_EXHAUSTED, message: `message length ${body.length} exceed maximum message size of ${MESSAGE_LENGTH_MAX}`, details: [] },
          payload: new Uint8Array(0),
        });
      }
      sock.write(encodeFrame(streamId, MessageType.Response, body));
    };
    const fail = (streamId: number, code: number, message: string): void =>
      send(streamId, { code, message, details: [] }, new Uint8Array(0));

    const decoder = new FrameDecoder(
      (frame) => {
        // Responses (and future types) sent to a server are ignored, for compatibility.
        if (frame.type !== MessageType.Request) return;
        let req;
        try {
          req = decodeRequest(frame.payload);
        } catch (err) {
          fail(frame.streamId, GrpcCode.INVALID_ARGUMENT, `unmarshal request error: ${(err as Error).message}`);
          return;
        }
        if (frame.streamId % 2 !== 1) {
          fail(frame.streamId, GrpcCode.INVALID_ARGUMENT, 'StreamID must be odd for client initiated streams');
          return;
        }
        const handler = this.services.get(req.service)?.get(req.method);
        if (!handler) {
          const known = this.services.has(req.service);
          fail(frame.streamId, GrpcCode.UNIMPLEMENTED, known ? `method ${req.method}` : `service ${req.service}`);
          return;
        }
        const abort = new AbortController();
        inflight.add(abort);
        let timer: NodeJS.Timeout | undefined;
        if (req.timeoutNano > 0) {
          timer = setTimeout(() => abort.abort(new TtrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, 'context deadline exceeded')),
            Math.ceil(req.timeoutNano / 1e6));
        }
        const ctx: CallContext = { service: req.service, method: req.method, metadata: req.metadata, signal: abort.signal };
        handler(req.payload, ctx).then(
          (payload) => send(frame.streamId, undefined, payload),
          (err) => {
            this.options.onError?.(err, ctx);
            send(frame.streamId, statusFromError(err), new Uint8Array(0));
          },
        ).finally(() => {
          if (timer) clearTimeout(timer);
          inflight.delete(abort);
          this.options.onSettled?.();
        });
      },
      (over) => fail(over.streamId, GrpcCode.RESOURCE_EXHAUSTED,
        `message length ${over.length} exceed maximum message size of ${MESSAGE_LENGTH_MAX}`),
    );

    this.connections.set(sock, { decoder, inflight });
    sock.on('data', (chunk: Buffer) => decoder.push(chunk));
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.connections.delete(sock);
      for (const a of inflight) a.abort(new TtrpcStatusError(GrpcCode.CANCELLED, 'ttrpc: connection closed'));
      inflight.clear();
    });
  }
}
