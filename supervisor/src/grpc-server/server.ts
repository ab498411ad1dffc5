/**
 * berthd's gRPC server: gRPC over HTTP/2 (./http2.ts) on a unix socket, with
 * @grpc/grpc-js's service definitions, metadata and handler contract — the
 * services register exactly as on a grpc-js Server, and their handlers get
 * call objects that behave as grpc-js's do for what they use: the request and
 * metadata, `cancelled` and the 'cancelled' event, callbacks, and Node streams
 * for the streaming sides (write/'drain'/end, async iteration, emit('error',
 * status) to end with a status).
 *
 * Why not grpc-js's own Server: it runs on node:http2, whose per-connection
 * cost alone makes every ctr command slower than containerd's (see http2.ts).
 *
 * The wire (PROTOCOL-HTTP2.md of gRPC): a request is HEADERS (:path
 * /<service>/<method>, content-type application/grpc…, grpc-timeout,
 * metadata) and length-prefixed messages; a response is HEADERS, messages and
 * trailers (grpc-status, percent-encoded grpc-message), or trailers only.
 * Compression is not offered (grpc-accept-encoding: identity), as clients of
 * containerd's API do not use it.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { Duplex, Readable, Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { ByteQueue } from '../../../proto/src/byte-queue';
import type { HeaderList } from './hpack';
import { Http2Connection, type Http2Stream } from './http2';

export interface GrpcServerOptions {
  /** Largest request message accepted (RESOURCE_EXHAUSTED above); default 16 MiB, as containerd. */
  maxReceiveMessageLength?: number;
  /** Largest response message sent; default 16 MiB. */
  maxSendMessageLength?: number;
  /** Protocol errors that end a connection. */
  onConnectionError?: (err: Error) => void;
}

type Kind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

interface Method {
  kind: Kind;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  def: grpc.MethodDefinition<any, any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: (...args: any[]) => void;
}

interface Status {
  code: grpc.status;
  details: string;
  metadata?: grpc.Metadata;
}

const OK: Status = { code: grpc.status.OK, details: 'OK' };
/** setTimeout's largest delay; a larger one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_MAX = 16 << 20;

/** Headers a handler's metadata does not show (grpc-js removes the same). */
const RESERVED = new Set(['content-type', 'te', 'accept-encoding', 'user-agent']); // and every grpc-* (metadataOf)

export class GrpcServer {
  private readonly methods = new Map<string, Method>();
  private readonly conns = new Set<Http2Connection>();
  private server: net.Server | undefined;
  private readonly maxRecv: number;
  private readonly maxSend: number;

  constructor(private readonly opts: GrpcServerOptions = {}) {
    this.maxRecv = opts.maxReceiveMessageLength ?? DEFAULT_MAX;
    this.maxSend = opts.maxSendMessageLength ?? DEFAULT_MAX;
  }

  /** As grpc-js Server.addService: handlers by method name (or its original lowerCamel name). */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    for (const [name, def] of Object.entries(service)) {
      const fn = implementation[name] ?? (def.originalName ? implementation[def.originalName] : undefined);
      if (typeof fn !== 'function') continue;
      if (this.methods.has(def.path)) throw new Error(`method ${def.path} added twice`);
      const kind: Kind = def.requestStream ? (def.responseStream ? 'bidi' : 'clientStream') : def.responseStream ? 'serverStream' : 'unary';
      this.methods.set(def.path, { kind, def, fn: fn as Method['fn'] });
    }
  }

  /** Listens on a unix socket path. */
  listen(path: string): Promise<void> {
    const server = net.createServer((socket) => {
      const conn = new Http2Connection(socket, {
        onStream: (s) => this.onStream(s),
        onError: this.opts.onConnectionError,
        onClose: () => this.conns.delete(conn),
      });
      this.conns.add(conn);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting, sends GOAWAY; cb once in-flight calls have finished and every connection closed. */
  tryShutdown(cb: (err?: Error) => void): void {
    // net.Server's close callback comes once every connection has closed too.
    if (this.server) this.server.close(() => cb());
    for (const c of [...this.conns]) c.goaway();
    if (!this.server) cb();
  }

  /** Closes every connection now: in-flight calls are cancelled. */
  forceShutdown(): void {
    this.server?.close();
    for (const c of [...this.conns]) c.destroy(); // each leaves conns as it closes
  }

  private onStream(s: Http2Stream): void {
    let path = '';
    let method = '';
    let contentType = '';
    let timeout = '';
    for (const [k, v] of s.headers) {
      if (k === ':path') path = v;
      else if (k === ':method') method = v;
      else if (k === 'content-type') contentType = v;
      else if (k === 'grpc-timeout') timeout = v;
    }
    if (method !== 'POST' || !(contentType === 'application/grpc' || contentType.startsWith('application/grpc+') || contentType.startsWith('application/grpc;'))) {
      s.respond([[':status', '415'], ['content-type', 'text/plain'], ['grpc-status', String(grpc.status.INTERNAL)], ['grpc-message', encodeMessage(`invalid gRPC request: ${method} ${contentType}`)]], true);
      return;
    }
    const m = this.methods.get(path);
    if (!m) {
      const slash = path.lastIndexOf('/');
      const svc = path.slice(1, slash);
      const known = [...this.methods.keys()].some((p) => p.startsWith(`/${svc}/`));
      // grpc-go's words, as containerd answers
      const details = known ? `unknown method ${path.slice(slash + 1)} for service ${svc}` : `unknown service ${svc}`;
      s.respond(trailersOnly({ code: grpc.status.UNIMPLEMENTED, details }), true);
      return;
    }
    new Call(s, m, metadataOf(s.headers), parseTimeout(timeout), this.maxRecv, this.maxSend).start();
  }
}

/**
 * One call: reads the request messages off the stream, runs the handler with
 * a grpc-js-shaped call object, writes messages and the final status.
 */
class Call {
  private cancelled = false;
  private done = false;
  private readonly q = new ByteQueue();
  /** The size of the message being read, prefix included; -1 before its prefix. */
  private need = -1;
  private readonly requests: unknown[] = [];
  private obj!: EventEmitter & { cancelled: boolean };
  private readable: Readable | undefined;
  /** The reader's buffer is full (push returned false) and it has not asked for more. */
  private readerFull = false;
  /** Stream bytes received while the reader is full: credited when it reads again. */
  private withheld = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private extraHeaders: HeaderList = [];

  constructor(
    private readonly s: Http2Stream,
    private readonly m: Method,
    private readonly metadata: grpc.Metadata,
    private readonly timeoutMs: number | undefined,
    private readonly maxRecv: number,
    private readonly maxSend: number,
  ) {}

  start(): void {
    const { kind } = this.m;
    const deadline = this.timeoutMs === undefined ? Infinity : new Date(Date.now() + this.timeoutMs);
    const base = {
      metadata: this.metadata,
      cancelled: false,
      getPeer: () => `unix:${this.s.conn.socket.localAddress || ''}`,
      getDeadline: () => deadline,
      getPath: () => this.m.def.path,
      sendMetadata: (md: grpc.Metadata) => this.extraHeaders.push(...headersOf(md)),
    };
    if (kind === 'unary' || kind === 'clientStream') {
      if (kind === 'unary') this.obj = Object.assign(new EventEmitter(), base, { request: undefined });
      else {
        const r = new Readable({ objectMode: true, read: () => this.resumeReading() });
        this.readable = r;
        this.obj = Object.assign(r, base);
      }
    } else {
      const call = this;
      const writeOpts = {
        objectMode: true,
        write(msg: unknown, _enc: BufferEncoding, cb: (err?: Error | null) => void) {
          call.sendMessage(msg, cb);
        },
        final(cb: (err?: Error | null) => void) {
          call.finish((this as unknown as { pendingStatus?: Status }).pendingStatus ?? OK);
          cb();
        },
      };
      const w: Writable | Duplex =
        kind === 'serverStream' ? new Writable(writeOpts) : new Duplex({ ...writeOpts, read: () => this.resumeReading() });
      // grpc-js: emit('error', status) ends the call with that status.
      w.on('error', (err: unknown) => {
        if (w.writableEnded) {
          this.finish(statusOf(err)); // after end(): nothing more to flush
          return;
        }
        (w as unknown as { pendingStatus?: Status }).pendingStatus = statusOf(err);
        w.end();
      });
      if (w instanceof Duplex) this.readable = w;
      this.obj = Object.assign(w, base, { request: undefined });
    }
    this.s.onData = (d) => this.onData(d);
    this.s.onEnd = () => this.onEnd();
    this.s.onReset = () => this.cancel();
    // Past setTimeout's range (~24.8 days) a timer would fire at once: no timer, as good as no deadline.
    if (this.timeoutMs !== undefined && this.timeoutMs <= MAX_TIMER_MS) {
      this.deadlineTimer = setTimeout(() => {
        this.fail({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      }, this.timeoutMs);
    }
    // The readable sides get their messages as they come; the others once the request is whole.
    if (kind === 'clientStream') this.invoke(this.obj, (err: unknown, res: unknown) => this.reply(err, res));
    if (kind === 'bidi') this.invoke(this.obj);
  }

  private invoke(...args: unknown[]): void {
    try {
      this.m.fn(...args);
    } catch (err) {
      this.finish(statusOf(err));
    }
  }

  private onData(d: Buffer): void {
    if (this.done) return;
    // Joined once per message (ByteQueue): a 1 MiB message arrives in 64 DATA
    // frames, and re-joining on each would copy it 32 times over.
    this.q.push(d);
    for (;;) {
      if (this.need < 0) {
        if (this.q.length < 5) break;
        const head = this.q.peek(5);
        const len = head.readUInt32BE(1);
        if (len > this.maxRecv) {
          this.fail({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${len} vs. ${this.maxRecv})` });
          return;
        }
        if (head[0] !== 0) {
          this.fail({ code: grpc.status.UNIMPLEMENTED, details: 'compressed messages are not supported (grpc-accept-encoding: identity)' });
          return;
        }
        this.need = 5 + len;
      }
      if (this.q.length < this.need) break;
      const payload = this.q.take(this.need).subarray(5);
      this.need = -1;
      let msg: unknown;
      try {
        msg = this.m.def.requestDeserialize(payload);
      } catch (err) {
        this.fail({ code: grpc.status.INTERNAL, details: `Error deserializing request: ${(err as Error).message}` });
        return;
      }
      if (this.readable) {
        if (!this.readable.push(msg)) this.readerFull = true;
      } else {
        this.requests.push(msg);
      }
    }
    // A full reader gets no more window until it reads (_read): the client stops at the stream window.
    if (this.readerFull) this.withheld += d.length;
    else this.s.consumed(d.length);
  }

  private resumeReading(): void {
    this.readerFull = false;
    if (this.withheld === 0) return;
    const n = this.withheld;
    this.withheld = 0;
    this.s.consumed(n);
  }

  private onEnd(): void {
    if (this.done) return;
    if (this.q.length > 0) {
      this.fail({ code: grpc.status.INTERNAL, details: 'request ended inside a message' });
      return;
    }
    if (this.readable) {
      this.readable.push(null);
      return;
    }
    if (this.requests.length !== 1) {
      this.finish({ code: grpc.status.UNIMPLEMENTED, details: `expected one request message, got ${this.requests.length}` });
      return;
    }
    (this.obj as unknown as { request: unknown }).request = this.requests[0];
    if (this.m.kind === 'unary') this.invoke(this.obj, (err: unknown, res: unknown) => this.reply(err, res));
    else this.invoke(this.obj);
  }

  /** A unary or client-streaming handler's callback. */
  private reply(err: unknown, res: unknown): void {
    if (this.done) return;
    if (err) {
      this.finish(statusOf(err));
      return;
    }
    this.sendMessage(res, (e) => {
      if (!e) this.finish(OK);
    });
  }

  private sendMessage(msg: unknown, cb: (err?: Error | null) => void): void {
    if (this.done) {
      cb();
      return;
    }
    let payload: Buffer;
    try {
      payload = this.m.def.responseSerialize(msg);
    } catch (err) {
      this.finish({ code: grpc.status.INTERNAL, details: `Error serializing response: ${(err as Error).message}` });
      cb(err as Error);
      return;
    }
    if (payload.length > this.maxSend) {
      const e = new Error(`Sent message larger than max (${payload.length} vs. ${this.maxSend})`);
      this.finish({ code: grpc.status.RESOURCE_EXHAUSTED, details: e.message });
      cb(e);
      return;
    }
    this.sendHeaders();
    const framed = Buffer.allocUnsafe(5 + payload.length);
    framed[0] = 0;
    framed.writeUInt32BE(payload.length, 1);
    payload.copy(framed, 5);
    this.s.write(framed, () => cb());
  }

  private sendHeaders(): void {
    if (this.s.headersSent) return;
    this.s.respond([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-accept-encoding', 'identity'], ...this.extraHeaders]);
  }

  /** Ends the call with a status (once). */
  private finish(st: Status): void {
    if (this.done) return;
    this.done = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (this.s.closed) return;
    if (this.s.headersSent) this.s.end(trailers(st));
    else this.s.respond([...trailersOnly(st), ...this.extraHeaders], true);
  }

  /** Ends the call with an error status, and its handler's streams with it (they would wait on forever). */
  private fail(st: Status): void {
    this.finish(st);
    this.cancel();
  }

  /** The client went away (RST_STREAM, the connection closed) or the deadline passed. */
  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.done = true;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (!this.s.closed) this.s.reset();
    const o = this.obj;
    if (!o) return;
    o.cancelled = true;
    o.emit('cancelled');
    // Stream sides end: a reader's iteration stops, a writer's 'close' fires (grpc-js does the same).
    if (o instanceof Readable || o instanceof Writable) o.destroy();
  }
}

/** A grpc-js handler's error (ServiceError, partial StatusObject, Error) as a status. */
function statusOf(err: unknown): Status {
  const e = (err ?? {}) as { code?: unknown; details?: unknown; message?: unknown; metadata?: unknown };
  const code = typeof e.code === 'number' && e.code >= 0 && e.code <= 16 ? (e.code as grpc.status) : grpc.status.UNKNOWN;
  const details = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : String(err);
  return { code, details, metadata: e.metadata instanceof grpc.Metadata ? e.metadata : undefined };
}

function trailers(st: Status): HeaderList {
  const out: HeaderList = [['grpc-status', String(st.code)], ['grpc-message', encodeMessage(st.details)]];
  if (st.metadata) out.push(...headersOf(st.metadata));
  return out;
}

/** Metadata as header fields: values as the latin1 strings of their UTF-8 bytes ('-bin' ones are base64 already). */
function headersOf(md: grpc.Metadata): HeaderList {
  const out: HeaderList = [];
  for (const [k, v] of Object.entries(md.toHttp2Headers())) {
    for (const x of [v].flat()) out.push([k, Buffer.from(String(x), 'utf8').toString('latin1')]);
  }
  return out;
}

function trailersOnly(st: Status): HeaderList {
  return [[':status', '200'], ['content-type', 'application/grpc'], ...trailers(st)];
}

/**
 * grpc-message: UTF-8, percent-encoded outside printable ASCII and for '%'
 * itself (gRPC's PROTOCOL-HTTP2). Header values travel as latin1 strings.
 */
function encodeMessage(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/** grpc-timeout: an integer of at most 8 digits and a unit (H M S m u n); undefined if absent or malformed. */
function parseTimeout(v: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { H: 3600e3, M: 60e3, S: 1e3, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H'];
  return n * unit;
}

/** A request's metadata: every header but the pseudo and reserved ones; '-bin' values decoded (grpc-js's Metadata does it). */
function metadataOf(headers: HeaderList): grpc.Metadata {
  const h: Record<string, string | string[]> = {};
  for (const [k, v] of headers) {
    if (k.startsWith(':') || RESERVED.has(k) || k.startsWith('grpc-')) continue;
    // Header values are latin1 on the wire; metadata strings are UTF-8 (as grpc-js reads them).
    const val = k.endsWith('-bin') ? v : Buffer.from(v, 'latin1').toString('utf8');
    const prev = h[k];
    if (prev === undefined) h[k] = val;
    else if (Array.isArray(prev)) prev.push(val);
    else h[k] = [prev, val];
  }
  return grpc.Metadata.fromHttp2Headers(h);
}
