/**
 * The gRPC server (HTTP/2 + gRPC over net.Socket), driven by the real grpc-js
 * client over a unix socket. The test service is hand-made (serializers are
 * Buffer passthroughs or JSON), so no .proto is involved.
 *
 * BERTH_GRPC_SERVER=grpc-js runs the same tests against grpc-js's Server (what
 * berthd serves with today), to prove the tests encode real behaviour.
 */
import * as crypto from 'node:crypto';
import type { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { GrpcServer, type GrpcServerOptions } from './server';

jest.setTimeout(20_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1 << 20;

// ---- the test service

interface Codec<T> {
  serialize(v: T): Buffer;
  deserialize(b: Buffer): T;
}
const bytes: Codec<Buffer> = { serialize: (b) => b, deserialize: (b) => b };
const json = <T>(): Codec<T> => ({ serialize: (v) => Buffer.from(JSON.stringify(v)), deserialize: (b) => JSON.parse(b.toString()) as T });

const SERVICE = 'berth.test.Echo';

function method<Req, Res>(name: string, kind: 'unary' | 'server' | 'client' | 'bidi', req: Codec<Req>, res: Codec<Res>): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${SERVICE}/${name}`,
    requestStream: kind === 'client' || kind === 'bidi',
    responseStream: kind === 'server' || kind === 'bidi',
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
    originalName: name,
  };
}

interface FailRequest { code: number; details: string; trailer?: string }
interface Chunks { count: number; size: number }
interface Sum { sum: number; count: number; inOrder: boolean }
interface ChatReply { n?: number; done?: boolean; count?: number }

const definition: grpc.ServiceDefinition = {
  Echo: method('Echo', 'unary', bytes, bytes),
  Delay: method('Delay', 'unary', bytes, bytes),
  Hang: method('Hang', 'unary', bytes, bytes),
  Fail: method('Fail', 'unary', json<FailRequest>(), bytes),
  Fill: method('Fill', 'unary', json<{ size: number }>(), bytes),
  Digest: method('Digest', 'unary', bytes, json<{ length: number; sha256: string }>()),
  Count: method('Count', 'server', json<{ n: number }>(), json<{ i: number }>()),
  Chunks: method('Chunks', 'server', json<Chunks>(), bytes),
  FailAfter: method('FailAfter', 'server', json<{ n: number } & FailRequest>(), json<{ i: number }>()),
  Subscribe: method('Subscribe', 'server', json<object>(), json<{ i: number }>()),
  Sum: method('Sum', 'client', json<{ n: number }>(), json<Sum>()),
  Absorb: method('Absorb', 'client', bytes, json<{ length: number; sha256: string }>()),
  Chat: method('Chat', 'bidi', json<{ n: number }>(), json<ChatReply>()),
};

/** A call the test holds on to, and how often its 'cancelled' event fired. */
interface Held<C> { call: C & { cancelled: boolean }; cancelledEvents: number }

/** What the handlers saw, fresh for each test. */
interface State {
  seen: grpc.Metadata[];
  hung: (Held<grpc.ServerUnaryCall<Buffer, Buffer>> & { callback: grpc.sendUnaryData<Buffer> })[];
  subscribed: Held<grpc.ServerWritableStream<object, { i: number }>>[];
  chats: Held<grpc.ServerDuplexStream<{ n: number }, ChatReply>>[];
  inFlight: number;
  maxInFlight: number;
  /** Chunks: messages written so far, and how often write() said to wait. */
  written: number;
  sawFalse: number;
  /** Absorb: set once the handler has stopped reading; resume() reads on. */
  absorbing?: { resume(): void };
}
let state: State;

function hold<C extends EventEmitter & { cancelled: boolean }>(call: C): Held<C> {
  const held = { call, cancelledEvents: 0 };
  call.on('cancelled', () => held.cancelledEvents++);
  return held;
}

const implementation: grpc.UntypedServiceImplementation = {
  Echo: ((call, callback) => {
    state.seen.push(call.metadata);
    callback(null, call.request);
  }) as grpc.handleUnaryCall<Buffer, Buffer>,

  /** Echoes after request[0] % 20 ms. */
  Delay: ((call, callback) => {
    state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
    setTimeout(() => {
      state.inFlight--;
      callback(null, call.request);
    }, call.request[0] % 20);
  }) as grpc.handleUnaryCall<Buffer, Buffer>,

  /** Never answers by itself: the test holds the callback. */
  Hang: ((call, callback) => {
    state.hung.push(Object.assign(hold(call), { callback })); // the same object: 'cancelled' counts on it
  }) as grpc.handleUnaryCall<Buffer, Buffer>,

  Fail: ((call, callback) => {
    const metadata = new grpc.Metadata();
    if (call.request.trailer) metadata.set('x-reason', call.request.trailer);
    callback({ code: call.request.code, details: call.request.details, metadata });
  }) as grpc.handleUnaryCall<FailRequest, Buffer>,

  Fill: ((call, callback) => callback(null, payload(call.request.size))) as grpc.handleUnaryCall<{ size: number }, Buffer>,

  Digest: ((call, callback) =>
    callback(null, { length: call.request.length, sha256: sha256(call.request) })) as grpc.handleUnaryCall<Buffer, { length: number; sha256: string }>,

  /** Writes n messages without waiting for 'drain': the stream must buffer them. */
  Count: ((call) => {
    for (let i = 0; i < call.request.n; i++) call.write({ i });
    call.end();
  }) as grpc.handleServerStreamingCall<{ n: number }, { i: number }>,

  /** Writes count messages of size bytes (message i is filled with i & 0xff), waiting for 'drain' when write() says so. */
  Chunks: ((call) => {
    const { count, size } = call.request;
    const next = () => {
      while (state.written < count) {
        if (call.cancelled) return;
        const more = call.write(Buffer.alloc(size, state.written & 0xff));
        state.written++;
        if (!more) {
          state.sawFalse++;
          call.once('drain', next);
          return;
        }
      }
      call.end();
    };
    next();
  }) as grpc.handleServerStreamingCall<Chunks, Buffer>,

  FailAfter: ((call) => {
    for (let i = 0; i < call.request.n; i++) call.write({ i });
    call.emit('error', { code: call.request.code, details: call.request.details });
  }) as grpc.handleServerStreamingCall<{ n: number } & FailRequest, { i: number }>,

  /** Like an events subscription: writes nothing until the test does. */
  Subscribe: ((call) => {
    state.subscribed.push(hold(call));
  }) as grpc.handleServerStreamingCall<object, { i: number }>,

  Sum: ((call, callback) => {
    const sum: Sum = { sum: 0, count: 0, inOrder: true };
    call.on('data', (m: { n: number }) => {
      if (m.n !== sum.count) sum.inOrder = false;
      sum.sum += m.n;
      sum.count++;
    });
    call.on('end', () => callback(null, sum));
  }) as grpc.handleClientStreamingCall<{ n: number }, Sum>,

  /** Takes a byte stream, and stops reading after the first chunk until the test resumes it; answers its length and digest. */
  Absorb: ((call, callback) => {
    const hash = crypto.createHash('sha256');
    let length = 0;
    call.on('data', (b: Buffer) => {
      if (length === 0) {
        call.pause();
        state.absorbing = { resume: () => call.resume() };
      }
      length += b.length;
      hash.update(b);
    });
    call.on('end', () => callback(null, { length, sha256: hash.digest('hex') }));
  }) as grpc.handleClientStreamingCall<Buffer, { length: number; sha256: string }>,

  /** Echoes each message; after the client's half-close, one more message, then the end. */
  Chat: ((call) => {
    state.chats.push(hold(call));
    let count = 0;
    call.on('data', (m: { n: number }) => {
      count++;
      call.write({ n: m.n });
    });
    call.on('end', () => {
      call.write({ done: true, count });
      call.end();
    });
  }) as grpc.handleBidiStreamingCall<{ n: number }, ChatReply>,
};

const big = crypto.randomBytes(4 * MiB);
/** The first size bytes of a fixed random payload (at most 4 MiB), or more by repeating it. */
function payload(size: number): Buffer {
  if (size <= big.length) return big.subarray(0, size);
  return Buffer.concat(Array.from({ length: Math.ceil(size / big.length) }, () => big)).subarray(0, size);
}
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** The first offset where a and b differ, or -1 (a readable failure for large buffers). */
function firstDifference(a: Buffer, b: Buffer): number {
  if (a.equals(b)) return -1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return Math.min(a.length, b.length);
}

// ---- servers, clients, proxies and raw connections, all undone in afterEach

type Server = Pick<GrpcServer, 'addService' | 'listen' | 'tryShutdown' | 'forceShutdown'>;

/** grpc-js's Server behind the same four methods. */
function grpcJsServer(opts: GrpcServerOptions): Server {
  const s = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxReceiveMessageLength ?? 16 * MiB,
    'grpc.max_send_message_length': opts.maxSendMessageLength ?? 16 * MiB,
  });
  return {
    addService: (svc, impl) => s.addService(svc, impl),
    listen: (p) =>
      new Promise<void>((resolve, reject) =>
        s.bindAsync(`unix:${p}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
      ),
    tryShutdown: (cb) => s.tryShutdown(cb),
    forceShutdown: () => s.forceShutdown(),
  };
}

const newServer = (opts: GrpcServerOptions): Server =>
  process.env.BERTH_GRPC_SERVER === 'grpc-js' ? grpcJsServer(opts) : new GrpcServer(opts);

const Client = grpc.makeGenericClientConstructor(definition, 'Echo');
type Client = InstanceType<typeof Client>;

let dir: string;
let sockPath: string;
let server: Server;
const servers: Server[] = [];
const clients: Client[] = [];
const listeners: net.Server[] = [];
const sockets: net.Socket[] = [];

beforeEach(async () => {
  state = { seen: [], hung: [], subscribed: [], chats: [], inFlight: 0, maxInFlight: 0, written: 0, sawFalse: 0 };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-grpc-server-'));
  sockPath = path.join(dir, 'grpc.sock');
  server = await serve();
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.forceShutdown();
  for (const l of listeners.splice(0)) l.close();
  for (const s of sockets.splice(0)) s.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serve(opts: GrpcServerOptions = {}, at = sockPath): Promise<Server> {
  const s = newServer(opts);
  servers.push(s);
  s.addService(definition, implementation);
  await s.listen(at);
  return s;
}

/** A grpc-js client; its own limits are raised so only the server's count. */
function client(target = sockPath, options: grpc.ChannelOptions = {}): Client {
  const c = new Client(`unix:${target}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * MiB,
    'grpc.max_send_message_length': 64 * MiB,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Each client on its own connection (grpc-js otherwise shares one between equal channels). */
const ownConnection: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };

/** A unix-socket proxy in front of target that counts the connections and the bytes sent to the server. */
async function proxy(target = sockPath): Promise<{ path: string; connections(): number; sent(): number }> {
  const at = path.join(dir, `proxy-${listeners.length}`);
  let count = 0;
  let sent = 0;
  const l = net.createServer((down) => {
    count++;
    const up = net.connect(target);
    sockets.push(down, up);
    down.on('data', (d: Buffer) => (sent += d.length));
    for (const [a, b] of [[down, up], [up, down]]) {
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => b.end());
    }
  });
  listeners.push(l);
  await new Promise<void>((r) => l.listen(at, r));
  return { path: at, connections: () => count, sent: () => sent };
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`no ${what} within ${ms} ms`);
    await sleep(5);
  }
}

interface CallOpts { metadata?: grpc.Metadata; deadline?: number }
interface Reply<T> { err: grpc.ServiceError | null; res?: T }

function unary<T = Buffer>(c: Client, name: string, req: unknown, opts: CallOpts = {}): { call: grpc.ClientUnaryCall; reply: Promise<Reply<T>> } {
  let call!: grpc.ClientUnaryCall;
  const options: grpc.CallOptions = opts.deadline === undefined ? {} : { deadline: opts.deadline };
  const reply = new Promise<Reply<T>>((resolve) => {
    call = c[name](req, opts.metadata ?? new grpc.Metadata(), options, (err: grpc.ServiceError | null, res?: T) => resolve({ err, res }));
  });
  return { call, reply };
}

/** The response of a call that must succeed. */
async function ok<T = Buffer>(c: Client, name: string, req: unknown, opts: CallOpts = {}, ms = 5000): Promise<T> {
  const { err, res } = await within(unary<T>(c, name, req, opts).reply, ms, `answer to ${name}`);
  if (err) throw new Error(`${name} failed: ${err.code} ${grpc.status[err.code]}: ${err.details}`);
  return res as T;
}

/** The error of a call that must fail. */
async function failure(c: Client, name: string, req: unknown, opts: CallOpts = {}, ms = 5000): Promise<grpc.ServiceError> {
  const { err } = await within(unary(c, name, req, opts).reply, ms, `answer to ${name}`);
  if (!err) throw new Error(`${name} succeeded; an error was expected`);
  return err;
}

/** Every message of a response stream, and its status (after 'end' when it is OK). */
function collect<T>(stream: Readable, ms: number, what: string): Promise<{ messages: T[]; status: grpc.StatusObject }> {
  return within(
    new Promise((resolve) => {
      const messages: T[] = [];
      let status: grpc.StatusObject | undefined;
      let ended = false;
      const done = () => {
        if (status && (ended || status.code !== grpc.status.OK)) resolve({ messages, status });
      };
      stream.on('data', (m: T) => messages.push(m));
      stream.on('error', () => undefined); // the status says it
      stream.on('end', () => {
        ended = true;
        done();
      });
      stream.on('status', (s: grpc.StatusObject) => {
        status = s;
        done();
      });
    }),
    ms,
    `status of ${what}`,
  );
}

/** Starts an Absorb call that writes chunks, waiting for 'drain' when told; written settles after the half-close. */
function absorb(c: Client, chunks: Buffer[]): { reply: Promise<Reply<{ length: number; sha256: string }>>; written: Promise<void> } {
  let w!: grpc.ClientWritableStream<Buffer>;
  const reply = new Promise<Reply<{ length: number; sha256: string }>>((resolve) => {
    w = c.Absorb((err: grpc.ServiceError | null, res?: { length: number; sha256: string }) => resolve({ err, res }));
  });
  const written = (async () => {
    for (const [i, chunk] of chunks.entries()) {
      if (!w.write(chunk)) await within(new Promise((r) => w.once('drain', r)), 10_000, `'drain' after chunk ${i}`);
    }
    w.end();
  })();
  return { reply, written };
}

/** Reads a response stream one message at a time. */
function reader<T>(stream: Readable): (ms?: number) => Promise<T> {
  const queue: T[] = [];
  const waiters: ((m: T) => void)[] = [];
  stream.on('data', (m: T) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  stream.on('error', () => undefined);
  return (ms = 2000) => within(new Promise<T>((r) => (queue.length ? r(queue.shift() as T) : waiters.push(r))), ms, 'message');
}

const isAbort = (code: number | undefined) => code === grpc.status.UNAVAILABLE || code === grpc.status.CANCELLED;

// ---- raw HTTP/2

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const ACK = 0x1;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

/** A frame; length, when given, is what the header claims (to cut a frame short). */
function frame(type: number, flags: number, stream: number, body: Buffer = Buffer.alloc(0), length = body.length): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, body]);
}

/** A header block of literals without indexing (RFC 7541 §6.2.2); names and values under 127 bytes. */
/** A gRPC request's headers for a method of the test service, as a client sends them. */
function requestHeaders(method: string, extra: [string, string][] = []): [string, string][] {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', `/${SERVICE}/${method}`],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ];
}

function headerBlock(headers: [string, string][]): Buffer {
  return Buffer.concat(headers.flatMap(([n, v]) => [Buffer.from([0, n.length]), Buffer.from(n), Buffer.from([v.length]), Buffer.from(v)]));
}

interface Frame { type: number; flags: number; stream: number; body: Buffer }

function parseFrames(buf: Buffer): Frame[] {
  const out: Frame[] = [];
  for (let off = 0; off + 9 <= buf.length; ) {
    const len = buf.readUIntBE(off, 3);
    if (off + 9 + len > buf.length) break;
    out.push({ type: buf[off + 3], flags: buf[off + 4], stream: buf.readUInt32BE(off + 5) & 0x7fffffff, body: buf.subarray(off + 9, off + 9 + len) });
    off += 9 + len;
  }
  return out;
}

/** A plain socket to the server that keeps what it reads. */
async function raw(target = sockPath): Promise<{ sock: net.Socket; received(): Buffer; closed: Promise<void> }> {
  const sock = net.connect(target);
  sockets.push(sock);
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await new Promise((r) => sock.once('connect', r));
  return { sock, received: () => Buffer.concat(chunks), closed };
}

// ---- the tests

describe('unary', () => {
  it('echoes a request', async () => {
    expect((await ok(client(), 'Echo', Buffer.from('ping'))).toString()).toBe('ping');
  });

  it('hands the client metadata to the handler: containerd-namespace, a -bin header, a long value', async () => {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', 'default');
    md.set('x-trace-bin', Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]));
    md.set('x-long', 'v'.repeat(6000)); // more than HPACK's 4096-byte table
    await ok(client(), 'Echo', Buffer.from('x'), { metadata: md });
    expect(state.seen).toHaveLength(1);
    expect(state.seen[0].get('containerd-namespace')).toEqual(['default']);
    expect(state.seen[0].get('x-trace-bin')).toEqual([Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff])]);
    expect(state.seen[0].get('x-long')).toEqual(['v'.repeat(6000)]);
  });

  it('decodes metadata on successive calls of one connection (HPACK dynamic table references)', async () => {
    const p = await proxy();
    const c = client(p.path);
    const bytes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const md = new grpc.Metadata();
      md.set('containerd-namespace', i % 2 ? 'default' : `ns-${i}`);
      md.set('x-same', 'same every time');
      const before = p.sent();
      await ok(c, 'Echo', Buffer.from([i]), { metadata: md });
      bytes.push(p.sent() - before);
    }
    expect(p.connections()).toBe(1);
    // Call 3 repeats call 1's headers: sent as dynamic table indices, it is smaller.
    expect(bytes[3]).toBeLessThan(bytes[1]);
    expect(state.seen.map((m) => m.get('containerd-namespace')[0])).toEqual(['ns-0', 'default', 'ns-2', 'default', 'ns-4', 'default']);
    expect(state.seen.map((m) => m.get('x-same')[0])).toEqual(new Array(6).fill('same every time'));
  });

  it('takes a header block larger than one frame (HEADERS + CONTINUATION)', async () => {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', 'default');
    // Over the 16 KiB default SETTINGS_MAX_FRAME_SIZE whatever the client's
    // choice: '~' has a 13-bit Huffman code, so it goes as 20000 plain octets.
    md.set('x-huge', '~'.repeat(20_000));
    await ok(client(), 'Echo', Buffer.from('x'), { metadata: md });
    expect(state.seen[0].get('x-huge')).toEqual(['~'.repeat(20_000)]);
    expect(state.seen[0].get('containerd-namespace')).toEqual(['default']);
  });

  it('returns an error status with its code and details', async () => {
    const err = await failure(client(), 'Fail', { code: grpc.status.NOT_FOUND, details: 'x not found' });
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe('x not found');
  });

  it("sends an error's metadata as trailers", async () => {
    const err = await failure(client(), 'Fail', { code: grpc.status.FAILED_PRECONDITION, details: 'no', trailer: 'gone' });
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.metadata.get('x-reason')).toEqual(['gone']);
  });

  it('keeps details intact through grpc-message percent-encoding: non-ASCII, %, newlines', async () => {
    const details = 'image "docker.io/library/café:latest" 100% not found — 名前 🐳\nsecond line %41 %zz';
    const err = await failure(client(), 'Fail', { code: grpc.status.NOT_FOUND, details });
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe(details);
  });

  it('sends an empty response message', async () => {
    const res = await ok(client(), 'Echo', Buffer.alloc(0));
    expect(Buffer.isBuffer(res)).toBe(true);
    expect(res).toHaveLength(0);
  });
});

describe('unknown methods', () => {
  const call = (c: Client, p: string) =>
    within(
      new Promise<Reply<Buffer>>((resolve) => c.makeUnaryRequest(p, bytes.serialize, bytes.deserialize, Buffer.from('x'), (err: grpc.ServiceError | null, res?: Buffer) => resolve({ err, res }))),
      5000,
      `answer to ${p}`,
    );

  it('answers UNIMPLEMENTED for an unknown method of a known service', async () => {
    const c = client();
    expect((await call(c, `/${SERVICE}/Nope`)).err?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect((await ok(c, 'Echo', Buffer.from('still'))).toString()).toBe('still');
  });

  it('answers UNIMPLEMENTED for an unknown service, unary or streaming', async () => {
    const c = client();
    expect((await call(c, '/berth.test.Nope/Echo')).err?.code).toBe(grpc.status.UNIMPLEMENTED);
    const stream = c.makeServerStreamRequest('/berth.test.Nope/Watch', bytes.serialize, bytes.deserialize, Buffer.from('x'));
    const { messages, status } = await collect<Buffer>(stream, 5000, 'an unknown streaming method');
    expect(messages).toHaveLength(0);
    expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
    expect((await ok(c, 'Echo', Buffer.from('still'))).toString()).toBe('still');
  });
});

describe('large messages', () => {
  it('echoes 4 MiB: a 4 MiB request and a 4 MiB response, byte for byte', async () => {
    const out = await ok(client(), 'Echo', big, {}, 10_000);
    expect(out.length).toBe(big.length);
    expect(firstDifference(out, big)).toBe(-1);
  });

  it('reads a 4 MiB request (through flow control)', async () => {
    expect(await ok(client(), 'Digest', big, {}, 10_000)).toEqual({ length: big.length, sha256: sha256(big) });
  });

  it('sends a 4 MiB response (within the client window)', async () => {
    const out = await ok(client(), 'Fill', { size: 4 * MiB }, {}, 10_000);
    expect(firstDifference(out, big)).toBe(-1);
  });

  it('carries three 4 MiB echoes at once on one connection', async () => {
    const p = await proxy();
    const c = client(p.path);
    const inputs = [big, Buffer.from(big).reverse(), crypto.randomBytes(4 * MiB)];
    const outs = await Promise.all(inputs.map((b) => ok(c, 'Echo', b, {}, 15_000)));
    expect(outs.map((o, i) => firstDifference(o, inputs[i]))).toEqual([-1, -1, -1]);
    expect(p.connections()).toBe(1);
  });

  it("keeps one connection going well past both sides' windows: 12 echoes of 4 MiB in a row", async () => {
    const p = await proxy();
    const c = client(p.path);
    for (let i = 0; i < 12; i++) {
      const input = Buffer.concat([big.subarray(i * 4099), big.subarray(0, i * 4099)]); // each one different
      expect(firstDifference(await ok(c, 'Echo', input, {}, 10_000), input)).toBe(-1);
    }
    expect(p.connections()).toBe(1);
  });

  it('refuses a request over maxReceiveMessageLength with RESOURCE_EXHAUSTED, and the connection serves on', async () => {
    const limited = path.join(dir, 'limited.sock');
    await serve({ maxReceiveMessageLength: MiB }, limited);
    const p = await proxy(limited);
    const c = client(p.path);
    const atLimit = payload(MiB);
    expect(firstDifference(await ok(c, 'Echo', atLimit), atLimit)).toBe(-1);
    const err = await failure(c, 'Echo', payload(MiB + 1));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // the refused call ends alone: the same connection carries the next ones
    for (let i = 0; i < 3; i++) expect(firstDifference(await ok(c, 'Echo', atLimit), atLimit)).toBe(-1);
    expect(p.connections()).toBe(1);
  });

  it('refuses a response over maxSendMessageLength with RESOURCE_EXHAUSTED', async () => {
    const limited = path.join(dir, 'limited.sock');
    await serve({ maxSendMessageLength: MiB }, limited);
    const c = client(limited);
    expect((await ok(c, 'Fill', { size: MiB })).length).toBe(MiB);
    expect((await failure(c, 'Fill', { size: MiB + 1 })).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await ok(c, 'Echo', Buffer.from('still'))).toString()).toBe('still');
  });
});

describe('server streaming', () => {
  it('delivers 2000 messages in order, then OK', async () => {
    const { messages, status } = await collect<{ i: number }>(client().Count({ n: 2000 }), 10_000, 'Count');
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toHaveLength(2000);
    expect(messages.every((m, i) => m.i === i)).toBe(true);
  });

  it("holds a handler that waits for 'drain' while the client does not read, and ends correctly", async () => {
    const count = 256;
    const size = 64 << 10; // 16 MiB in all
    const stream: grpc.ClientReadableStream<Buffer> = client().Chunks({ count, size });
    let writtenWhilePaused = -1;
    stream.on('data', function first() {
      stream.off('data', first);
      stream.pause();
      setTimeout(() => {
        writtenWhilePaused = state.written;
        stream.resume();
      }, 500);
    });
    const { messages, status } = await collect<Buffer>(stream, 15_000, 'Chunks');
    expect(status.code).toBe(grpc.status.OK);
    expect(writtenWhilePaused).toBeGreaterThan(0);
    expect(writtenWhilePaused).toBeLessThan(count); // back-pressure held the handler
    expect(state.sawFalse).toBeGreaterThan(0);
    expect(messages).toHaveLength(count);
    const wrong = messages.findIndex((m, i) => !m.equals(Buffer.alloc(size, i & 0xff)));
    expect(wrong).toBe(-1);
  });

  it('ends with an error status after some messages: the client gets the messages, then the code', async () => {
    const stream = client().FailAfter({ n: 3, code: grpc.status.ABORTED, details: 'stopped after 3' });
    const { messages, status } = await collect<{ i: number }>(stream, 5000, 'FailAfter');
    expect(messages).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(status.code).toBe(grpc.status.ABORTED);
    expect(status.details).toBe('stopped after 3');
  });
});

describe('client streaming and bidi', () => {
  it('sums 500 client messages, in order, after the half-close', async () => {
    let w!: grpc.ClientWritableStream<{ n: number }>;
    const reply = new Promise<Reply<Sum>>((resolve) => {
      w = client().Sum((err: grpc.ServiceError | null, res?: Sum) => resolve({ err, res }));
    });
    for (let n = 0; n < 500; n++) w.write({ n });
    w.end();
    const { err, res } = await within(reply, 5000, 'answer to Sum');
    expect(err).toBeNull();
    expect(res).toEqual({ sum: (500 * 499) / 2, count: 500, inOrder: true });
  });

  it('answers a client stream with no messages', async () => {
    let w!: grpc.ClientWritableStream<{ n: number }>;
    const reply = new Promise<Reply<Sum>>((resolve) => {
      w = client().Sum((err: grpc.ServiceError | null, res?: Sum) => resolve({ err, res }));
    });
    w.end();
    const { err, res } = await within(reply, 5000, 'answer to Sum');
    expect(err).toBeNull();
    expect(res).toEqual({ sum: 0, count: 0, inOrder: true });
  });

  it("carries 40 MiB on one client stream (a content Write's shape), past the stream window, to a handler that pauses", async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => big.subarray((i % 4) * MiB, ((i % 4) + 1) * MiB));
    const { reply, written } = absorb(client(), chunks);
    await until(() => state.absorbing !== undefined, 5000, 'first chunk on the server');
    await sleep(300);
    state.absorbing?.resume();
    await written;
    const { err, res } = await within(reply, 10_000, 'answer to Absorb');
    expect(err).toBeNull();
    expect(res).toEqual({ length: 40 * MiB, sha256: sha256(Buffer.concat(chunks)) });
  });

  it('holds back a client stream while its handler does not read (read back-pressure)', async () => {
    const p = await proxy();
    const chunks = Array.from({ length: 1024 }, (_, i) => big.subarray((i % 64) * 65536, ((i % 64) + 1) * 65536)); // 64 MiB
    const { reply, written } = absorb(client(p.path), chunks);
    await until(() => state.absorbing !== undefined, 5000, 'first chunk on the server');
    await sleep(1000);
    const sentWhilePaused = p.sent();
    state.absorbing?.resume();
    await written;
    const { err, res } = await within(reply, 10_000, 'answer to Absorb');
    expect(err).toBeNull();
    expect(res?.length).toBe(64 * MiB);
    // berth's 16 MiB stream window and the reader's 16 buffered messages may be taken; not the rest
    expect(sentWhilePaused).toBeLessThan(32 * MiB);
  });

  it('echoes 500 bidi messages in order, and writes on after the client half-closes', async () => {
    const chat: grpc.ClientDuplexStream<{ n: number }, ChatReply> = client().Chat();
    const done = collect<ChatReply>(chat, 5000, 'Chat');
    for (let n = 0; n < 500; n++) chat.write({ n });
    chat.end();
    const { messages, status } = await done;
    expect(status.code).toBe(grpc.status.OK);
    expect(messages).toHaveLength(501);
    expect(messages.slice(0, 500).every((m, i) => m.n === i)).toBe(true);
    expect(messages[500]).toEqual({ done: true, count: 500 });
  });

  it('answers each bidi message before the next is sent', async () => {
    const chat: grpc.ClientDuplexStream<{ n: number }, ChatReply> = client().Chat();
    const next = reader<ChatReply>(chat);
    const status = new Promise<grpc.StatusObject>((r) => chat.on('status', r));
    for (let n = 0; n < 20; n++) {
      chat.write({ n });
      expect(await next()).toEqual({ n });
    }
    chat.end();
    expect(await next()).toEqual({ done: true, count: 20 });
    expect((await within(status, 2000, 'Chat status')).code).toBe(grpc.status.OK);
  });
});

describe('cancellation', () => {
  it('a client cancel reaches a unary handler: call.cancelled and the cancelled event, within a second', async () => {
    const c = client();
    const { call, reply } = unary(c, 'Hang', Buffer.from('x'));
    await until(() => state.hung.length === 1, 2000, 'Hang call on the server');
    call.cancel();
    expect((await within(reply, 1000, 'answer to the cancelled call')).err?.code).toBe(grpc.status.CANCELLED);
    await until(() => state.hung[0].cancelledEvents > 0, 1000, "'cancelled' event on the server");
    expect(state.hung[0].call.cancelled).toBe(true);
    expect(state.hung[0].cancelledEvents).toBe(1);
  });

  it('a client cancel reaches a server-streaming handler (an events subscription)', async () => {
    const c = client();
    const stream: grpc.ClientReadableStream<{ i: number }> = c.Subscribe({});
    stream.on('error', () => undefined);
    await until(() => state.subscribed.length === 1, 2000, 'Subscribe call on the server');
    state.subscribed[0].call.write({ i: 0 });
    stream.cancel();
    await until(() => state.subscribed[0].cancelledEvents > 0, 1000, "'cancelled' event on the server");
    expect(state.subscribed[0].call.cancelled).toBe(true);
    state.subscribed[0].call.end(); // a handler ending late does no harm
    expect((await ok(c, 'Echo', Buffer.from('after'))).toString()).toBe('after');
  });

  it('a client cancel reaches a bidi handler', async () => {
    const chat: grpc.ClientDuplexStream<{ n: number }, ChatReply> = client().Chat();
    const next = reader<ChatReply>(chat);
    chat.write({ n: 1 });
    expect(await next()).toEqual({ n: 1 });
    chat.cancel();
    await until(() => state.chats[0]?.cancelledEvents > 0, 1000, "'cancelled' event on the server");
    expect(state.chats[0].call.cancelled).toBe(true);
  });

  it('a deadline: DEADLINE_EXCEEDED on the client, cancelled on the server', async () => {
    const start = Date.now();
    const { reply } = unary(client(), 'Hang', Buffer.from('x'), { deadline: start + 200 });
    const { err } = await within(reply, 2000, 'answer past the deadline');
    expect(err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
    expect(state.hung).toHaveLength(1);
    await until(() => state.hung[0].cancelledEvents > 0, 1000, "'cancelled' event on the server");
    expect(state.hung[0].call.cancelled).toBe(true);
  });

  it('enforces grpc-timeout itself, for a client that never resets the stream', async () => {
    const r = await raw();
    const headers = headerBlock(requestHeaders('Hang', [['grpc-timeout', '200m']]));
    const message = Buffer.from([0, 0, 0, 0, 1, 0x78]);
    r.sock.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS, 1, headers), frame(DATA, END_STREAM, 1, message)]));
    await until(() => state.hung.length === 1, 2000, 'Hang call on the server');
    await until(() => state.hung[0].cancelledEvents > 0, 1500, "'cancelled' event on the server");
    expect(state.hung[0].call.cancelled).toBe(true);
    // and the stream ended: HEADERS with END_STREAM (trailers) or RST_STREAM
    await until(() => parseFrames(r.received()).some((f) => f.stream === 1 && ((f.type === HEADERS && f.flags & END_STREAM) || f.type === RST_STREAM)), 1000, 'end of stream 1');
  });

  it("a request that ends inside a message: the call ends, and the handler's stream with it", async () => {
    const r = await raw();
    const headers = headerBlock(requestHeaders('Chat'));
    const partial = Buffer.from([0, 0, 0, 0, 10, 0x7b, 0x7d]); // a prefix for 10 bytes, then 2 of them and END_STREAM
    r.sock.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS, 1, headers), frame(DATA, END_STREAM, 1, partial)]));
    await until(() => state.chats.length === 1, 2000, 'Chat call on the server');
    await until(() => state.chats[0].cancelledEvents > 0, 2000, "'cancelled' event on the server");
    expect((state.chats[0].call as unknown as Readable).destroyed).toBe(true);
    await until(() => parseFrames(r.received()).some((f) => f.stream === 1 && f.type === HEADERS && f.flags & END_STREAM), 1000, 'end of stream 1');
  });

  it('a deadline past setTimeout\'s range (30 days) does not fire at once', async () => {
    const out = await ok(client(), 'Delay', Buffer.from([30]), { deadline: Date.now() + 30 * 86400e3 });
    expect(out).toEqual(Buffer.from([30]));
  });

  it('drops an answer that comes after the cancel, and the connection serves on', async () => {
    const p = await proxy();
    const c = client(p.path);
    const { call, reply } = unary(c, 'Hang', Buffer.from('x'));
    await until(() => state.hung.length === 1, 2000, 'Hang call on the server');
    call.cancel();
    await within(reply, 1000, 'answer to the cancelled call');
    await until(() => state.hung[0].cancelledEvents > 0, 1000, "'cancelled' event on the server");
    state.hung[0].callback(null, Buffer.from('late'));
    await sleep(50);
    expect((await ok(c, 'Echo', Buffer.from('after'))).toString()).toBe('after');
    expect(p.connections()).toBe(1);
  });
});

describe('concurrency', () => {
  it('answers 200 concurrent calls on one connection', async () => {
    const p = await proxy();
    const c = client(p.path);
    const inputs = Array.from({ length: 200 }, (_, i) => Buffer.from([i % 20, i & 0xff, i >> 8]));
    const outs = await Promise.all(inputs.map((b) => ok(c, 'Delay', b, {}, 10_000)));
    expect(outs.filter((o, i) => !o.equals(inputs[i]))).toHaveLength(0);
    expect(state.maxInFlight).toBeGreaterThan(1);
    expect(p.connections()).toBe(1);
  });

  it('answers 20 clients, each on its own connection', async () => {
    const p = await proxy();
    const cs = Array.from({ length: 20 }, () => client(p.path, ownConnection));
    const outs = await Promise.all(cs.map((c, i) => ok(c, 'Delay', Buffer.from([i, 7]), {}, 10_000)));
    expect(outs.map((o) => o[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(p.connections()).toBe(20);
  });
});

describe('shutdown', () => {
  it('tryShutdown lets the call in flight finish, then calls back; new connections are refused', async () => {
    const c = client();
    const { reply } = unary(c, 'Hang', Buffer.from('x'));
    await until(() => state.hung.length === 1, 2000, 'Hang call on the server');
    let shutdownAt = 0;
    let shutdownCalls = 0;
    let shutdownErr: Error | undefined;
    server.tryShutdown((err) => {
      shutdownErr = err;
      shutdownAt ||= Date.now();
      shutdownCalls++;
    });
    await sleep(200);
    expect(shutdownAt).toBe(0); // waiting for the call
    const refused = await failure(client(sockPath, ownConnection), 'Echo', Buffer.from('new'), {}, 3000);
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    const answeredAt = Date.now();
    state.hung[0].callback(null, Buffer.from('done'));
    const { err, res } = await within(reply, 2000, 'answer to the call in flight');
    expect(err).toBeNull();
    expect(res?.toString()).toBe('done');
    await until(() => shutdownAt > 0, 2000, 'tryShutdown callback');
    expect(shutdownAt).toBeGreaterThanOrEqual(answeredAt);
    expect(shutdownErr).toBeFalsy();
    await sleep(100);
    expect(shutdownCalls).toBe(1);
  });

  it('tryShutdown with an idle client connected calls back within a second', async () => {
    const c = client();
    await ok(c, 'Echo', Buffer.from('x'));
    let called = false;
    server.tryShutdown(() => (called = true));
    await until(() => called, 1000, 'tryShutdown callback');
  });

  it('tryShutdown with nothing connected calls back within a second', async () => {
    let called = false;
    server.tryShutdown(() => (called = true));
    await until(() => called, 1000, 'tryShutdown callback');
  });

  it('forceShutdown fails the calls in flight at once (UNAVAILABLE or CANCELLED), and handlers see the cancel', async () => {
    const c = client();
    const { reply } = unary(c, 'Hang', Buffer.from('x'));
    const stream = collect<{ i: number }>(c.Subscribe({}), 2000, 'Subscribe');
    await until(() => state.hung.length === 1 && state.subscribed.length === 1, 2000, 'calls on the server');
    const start = Date.now();
    server.forceShutdown();
    const { err } = await within(reply, 1000, 'answer to the unary call');
    const { status } = await stream;
    expect(Date.now() - start).toBeLessThan(1000);
    expect(isAbort(err?.code)).toBe(true);
    expect(isAbort(status.code)).toBe(true);
    await until(() => state.hung[0].cancelledEvents > 0 && state.subscribed[0].cancelledEvents > 0, 1000, "'cancelled' events on the server");
  });
});

describe('robustness', () => {
  it('answers the client preface with SETTINGS first, acknowledges ours, and answers a PING', async () => {
    const r = await raw();
    r.sock.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), frame(PING, 0, 0, Buffer.from('berth-pi'))]));
    const pong = () => parseFrames(r.received()).find((f) => f.type === PING && f.flags & ACK);
    await until(() => pong() !== undefined, 2000, 'PING ack');
    const frames = parseFrames(r.received());
    expect(frames[0]).toMatchObject({ type: SETTINGS, flags: 0, stream: 0 });
    expect(frames.some((f) => f.type === SETTINGS && f.flags === ACK)).toBe(true);
    expect(pong()?.body.toString()).toBe('berth-pi');
  });

  it('closes a connection that does not start with the HTTP/2 preface; other clients carry on', async () => {
    const p = await proxy();
    const c = client(p.path);
    await ok(c, 'Echo', Buffer.from('before'));
    for (const garbage of [Buffer.from('GET / HTTP/1.1\r\nHost: berth\r\n\r\n'), crypto.randomBytes(64)]) {
      const r = await raw();
      r.sock.write(garbage);
      await within(r.closed, 2000, 'close of a connection that sent garbage');
    }
    expect((await ok(c, 'Echo', Buffer.from('after'))).toString()).toBe('after');
    expect(p.connections()).toBe(1);
  });

  it('serves on after connections that disconnect mid-preface, mid-frame and mid-message', async () => {
    const p = await proxy();
    const c = client(p.path);
    await ok(c, 'Echo', Buffer.from('before'));
    const headers = headerBlock(requestHeaders('Hang'));
    const message = Buffer.alloc(5 + 20);
    message.writeUInt32BE(1000, 1); // a 1000-byte message, of which 20 come
    const cuts: Buffer[] = [
      PREFACE.subarray(0, 10),
      Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS, 1, Buffer.alloc(10), 100)]),
      Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS, 1, headers), frame(DATA, 0, 1, message, 5 + 1000)]),
    ];
    for (const cut of cuts) {
      const r = await raw();
      r.sock.write(cut);
      await sleep(50);
      r.sock.destroy();
    }
    await sleep(50);
    expect((await ok(c, 'Echo', Buffer.from('after'))).toString()).toBe('after');
    expect(state.hung).toHaveLength(0); // a unary handler only runs on a whole request
    expect(p.connections()).toBe(1);
  });
});

describe('call deadline', () => {
  it('getDeadline() is fixed when the call starts, from grpc-timeout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-deadline-'));
    const sock = path.join(dir, 's.sock');
    const server = new GrpcServer();
    const seen: Array<Date | number> = [];
    server.addService({ Echo: method('Echo', 'unary', bytes, bytes) }, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        seen.push(call.getDeadline());
        setTimeout(() => {
          seen.push(call.getDeadline());
          cb(null, call.request);
        }, 100);
      },
    });
    const c = new grpc.Client(`unix:${sock}`, grpc.credentials.createInsecure());
    try {
      await server.listen(sock);
      const t0 = Date.now();
      await new Promise((resolve, reject) =>
        c.makeUnaryRequest(`/${SERVICE}/Echo`, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('x'), new grpc.Metadata(), { deadline: t0 + 5000 }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      expect(seen).toHaveLength(2);
      const [a, b] = seen.map((d) => (d instanceof Date ? d.getTime() : d));
      expect(b).toBe(a);
      expect(a).toBeGreaterThan(t0 + 4000);
      expect(a).toBeLessThanOrEqual(t0 + 5100);
    } finally {
      c.close();
      server.forceShutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
