import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AlreadyExistsError, NotFoundError, isNotFound, kindOf, GrpcCode } from '../../../proto/src/errdefs';
import { loadRoot } from '../../../proto/src/loader';
import { TtrpcClient } from './client';
import {
  FrameDecoder,
  HEADER_LENGTH,
  MESSAGE_LENGTH_MAX,
  MessageType,
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  type Frame,
} from './framing';
import { TtrpcServer } from './server';
import { TtrpcStatusError } from './status';

let dir: string;
let server: TtrpcServer;
let listener: net.Server;
let sockPath: string;
const clients: TtrpcClient[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ttrpc-'));
  sockPath = path.join(dir, 's');
  server = new TtrpcServer();
  server.register('test.Echo', 'Echo', async (p) => p);
  server.register('test.Echo', 'Delay', async (p) => {
    const ms = p[0];
    await new Promise((r) => setTimeout(r, ms));
    return p;
  });
  server.register('test.Echo', 'NotFound', async () => { throw new NotFoundError('no such thing "x"'); });
  server.register('test.Echo', 'Exists', async () => { throw new AlreadyExistsError('id x: already exists'); });
  server.register('test.Echo', 'Plain', async () => { throw new Error('boom'); });
  server.register('test.Echo', 'Big', async (p) => Buffer.alloc(Buffer.from(p).readUInt32BE(0), 7));
  listener = net.createServer();
  await new Promise<void>((r) => listener.listen(sockPath, r));
  server.serve(listener);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function client(): Promise<TtrpcClient> {
  const c = await TtrpcClient.connect(`unix://${sockPath}`);
  clients.push(c);
  return c;
}

/** A raw connection that collects response frames. */
async function rawConn(): Promise<{ sock: net.Socket; frames: Frame[]; next: () => Promise<Frame> }> {
  const sock = net.connect(sockPath);
  await new Promise((r) => sock.once('connect', r));
  const frames: Frame[] = [];
  const waiters: ((f: Frame) => void)[] = [];
  const dec = new FrameDecoder((f) => {
    const w = waiters.shift();
    if (w) w(f); else frames.push(f);
  }, () => undefined);
  sock.on('data', (d: Buffer) => dec.push(d));
  return {
    sock,
    frames,
    next: () => new Promise((r) => { const f = frames.shift(); if (f) r(f); else waiters.push(r); }),
  };
}

function requestFrame(streamId: number, service: string, method: string, payload = Buffer.alloc(0)): Buffer {
  return encodeFrame(streamId, MessageType.Request, encodeRequest({ service, method, payload, timeoutNano: 0, metadata: [] }));
}

describe('framing', () => {
  it('decodes frames split at every byte boundary', () => {
    const a = requestFrame(1, 's', 'm', Buffer.from('hello'));
    const b = requestFrame(3, 's', 'n', Buffer.alloc(1000, 1));
    const all = Buffer.concat([a, b]);
    const got: Frame[] = [];
    const dec = new FrameDecoder((f) => got.push(f), () => { throw new Error('oversized'); });
    for (let i = 0; i < all.length; i++) dec.push(all.subarray(i, i + 1));
    expect(got.map((f) => f.streamId)).toEqual([1, 3]);
    expect(decodeRequest(got[0].payload).method).toBe('m');
    expect(Buffer.from(decodeRequest(got[1].payload).payload)).toEqual(Buffer.alloc(1000, 1));
    expect(dec.pending).toBe(0);
  });

  it('writes the 10-byte header big-endian', () => {
    const f = encodeFrame(0x01020305, 2, Buffer.from([9, 9]), 0);
    expect([...f]).toEqual([0, 0, 0, 2, 1, 2, 3, 5, 2, 0, 9, 9]);
    expect(HEADER_LENGTH).toBe(10);
  });

  it('skips an oversized payload across chunks and keeps decoding', () => {
    const over = MESSAGE_LENGTH_MAX + 1;
    const header = Buffer.alloc(10);
    header.writeUInt32BE(over, 0);
    header.writeUInt32BE(7, 4);
    header[8] = 1;
    const oversized: number[] = [];
    const got: Frame[] = [];
    const dec = new FrameDecoder((f) => got.push(f), (o) => oversized.push(o.streamId));
    dec.push(header);
    dec.push(Buffer.alloc(over - 10));
    dec.push(Buffer.concat([Buffer.alloc(10), requestFrame(9, 's', 'm')]));
    expect(oversized).toEqual([7]);
    expect(got.map((f) => f.streamId)).toEqual([9]);
  });
});

describe('ttrpc server and client', () => {
  it('answers a unary call', async () => {
    const c = await client();
    const out = await c.call('test.Echo', 'Echo', Buffer.from('ping'));
    expect(Buffer.from(out).toString()).toBe('ping');
  });

  it('carries messages near the 4 MiB limit both ways', async () => {
    const c = await client();
    // request: payload + service/method/tag overhead must stay under the limit
    const nearIn = Buffer.alloc(MESSAGE_LENGTH_MAX - 64, 3);
    expect(Buffer.from(await c.call('test.Echo', 'Echo', nearIn)).equals(nearIn)).toBe(true);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(MESSAGE_LENGTH_MAX - 16);
    expect((await c.call('test.Echo', 'Big', size)).length).toBe(MESSAGE_LENGTH_MAX - 16);
  });

  it('refuses a request over the limit before sending it', async () => {
    const c = await client();
    const err = await c.call('test.Echo', 'Echo', Buffer.alloc(MESSAGE_LENGTH_MAX + 1)).catch((e) => e);
    expect(err).toBeInstanceOf(TtrpcStatusError);
    expect(err.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
    // the connection is still good
    expect(Buffer.from(await c.call('test.Echo', 'Echo', Buffer.from('x'))).toString()).toBe('x');
  });

  it('answers ResourceExhausted to an oversized frame and keeps the connection', async () => {
    const { sock, next } = await rawConn();
    const header = Buffer.alloc(10);
    header.writeUInt32BE(MESSAGE_LENGTH_MAX + 100, 0);
    header.writeUInt32BE(5, 4);
    header[8] = MessageType.Request;
    sock.write(header);
    sock.write(Buffer.alloc(MESSAGE_LENGTH_MAX + 100));
    sock.write(requestFrame(7, 'test.Echo', 'Echo', Buffer.from('after')));
    const f1 = await next();
    expect(f1.streamId).toBe(5);
    expect(decodeResponse(f1.payload).status?.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
    const f2 = await next();
    expect(f2.streamId).toBe(7);
    expect(Buffer.from(decodeResponse(f2.payload).payload).toString()).toBe('after');
    sock.destroy();
  });

  it('refuses a server response over the limit with ResourceExhausted', async () => {
    const c = await client();
    const size = Buffer.alloc(4);
    size.writeUInt32BE(MESSAGE_LENGTH_MAX + 1);
    const err = await c.call('test.Echo', 'Big', size).catch((e) => e);
    expect(err.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
  });

  it('interleaves many concurrent streams, answering out of order', async () => {
    const c = await client();
    const calls = [];
    for (let i = 0; i < 300; i++) {
      const p = Buffer.from([i % 7, i & 0xff, i >> 8]);
      calls.push(c.call('test.Echo', 'Delay', p).then((out) => Buffer.from(out).equals(p)));
    }
    expect(await Promise.all(calls)).toEqual(new Array(300).fill(true));
    // with a second client on the same server at the same time
    const c2 = await client();
    const both = await Promise.all([
      c.call('test.Echo', 'Delay', Buffer.from([5, 1])),
      c2.call('test.Echo', 'Delay', Buffer.from([1, 2])),
    ]);
    expect(both.map((b) => b[1])).toEqual([1, 2]);
  });

  it('uses odd stream ids and refuses even ones', async () => {
    const { sock, next } = await rawConn();
    sock.write(requestFrame(2, 'test.Echo', 'Echo'));
    const f = await next();
    expect(f.streamId).toBe(2);
    const st = decodeResponse(f.payload).status!;
    expect(st.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(st.message).toMatch(/odd/);
    sock.destroy();
  });

  it('answers Unimplemented for an unknown service or method', async () => {
    const c = await client();
    const e1 = await c.call('no.Such', 'Thing', Buffer.alloc(0)).catch((e) => e);
    expect(e1.code).toBe(GrpcCode.UNIMPLEMENTED);
    expect(e1.message).toBe('service no.Such');
    const e2 = await c.call('test.Echo', 'Nope', Buffer.alloc(0)).catch((e) => e);
    expect(e2.code).toBe(GrpcCode.UNIMPLEMENTED);
    expect(e2.message).toBe('method Nope');
    expect(kindOf(e2)).toBe('NotImplemented');
  });

  it('maps error kinds to status codes with errdefs and back', async () => {
    const c = await client();
    const nf = await c.call('test.Echo', 'NotFound', Buffer.alloc(0)).catch((e) => e);
    expect(nf.code).toBe(GrpcCode.NOT_FOUND);
    expect(nf.message).toBe('no such thing "x"');
    expect(isNotFound(nf)).toBe(true);
    const ae = await c.call('test.Echo', 'Exists', Buffer.alloc(0)).catch((e) => e);
    expect(ae.code).toBe(GrpcCode.ALREADY_EXISTS);
    const plain = await c.call('test.Echo', 'Plain', Buffer.alloc(0)).catch((e) => e);
    expect(plain.code).toBe(GrpcCode.UNKNOWN);
    expect(plain.message).toBe('boom');
  });

  it('survives a peer that disconnects mid-message', async () => {
    const { sock } = await rawConn();
    const frame = requestFrame(1, 'test.Echo', 'Echo', Buffer.alloc(5000, 1));
    sock.write(frame.subarray(0, 3)); // inside the header
    await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    const r2 = await rawConn();
    r2.sock.write(frame.subarray(0, 2000)); // inside the payload
    await new Promise((r) => setTimeout(r, 20));
    r2.sock.destroy();
    await new Promise((r) => setTimeout(r, 20));
    const c = await client();
    expect(Buffer.from(await c.call('test.Echo', 'Echo', Buffer.from('ok'))).toString()).toBe('ok');
  });

  it('fails pending calls when the server goes away mid-call', async () => {
    const c = await client();
    const pending = c.call('test.Echo', 'Delay', Buffer.from([200]));
    setTimeout(() => server.close(), 20);
    const err = await pending.catch((e) => e);
    expect(err.code).toBe(GrpcCode.UNAVAILABLE);
    expect(kindOf(err)).toBe('Unavailable');
    const after = await c.call('test.Echo', 'Echo', Buffer.alloc(0)).catch((e) => e);
    expect(after.code).toBe(GrpcCode.UNAVAILABLE);
  });

  it('fails pending calls when the server dies mid-response', async () => {
    // a fake server that sends half a response frame, then closes
    const p2 = path.join(dir, 'half');
    const fake = net.createServer((s) => {
      s.once('data', () => {
        s.write(encodeFrame(1, MessageType.Response, Buffer.alloc(100)).subarray(0, 30));
        setTimeout(() => s.destroy(), 10);
      });
    });
    await new Promise<void>((r) => fake.listen(p2, r));
    const c = await TtrpcClient.connect(p2);
    const err = await c.call('x', 'y', Buffer.alloc(0)).catch((e) => e);
    expect(err.code).toBe(GrpcCode.UNAVAILABLE);
    fake.close();
  });

  it('times out a call with a deadline and ignores the late answer', async () => {
    const c = await client();
    const err = await c.call('test.Echo', 'Delay', Buffer.from([100]), { timeoutMs: 10 }).catch((e) => e);
    expect(err.code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 120));
    expect(Buffer.from(await c.call('test.Echo', 'Echo', Buffer.from('y'))).toString()).toBe('y');
  });

  it('serves a protobufjs service with typed handlers (containerd.task.v2.Task)', async () => {
    const root = loadRoot(['runtime/task/v2/shim.proto']);
    const svc = root.lookupService('containerd.task.v2.Task');
    server.addService(svc, {
      Connect: async (req: { id: string }) => ({ shimPid: 42, taskPid: req.id.length, version: '2' }),
      State: async () => { throw new NotFoundError('container not created'); },
    });
    const c = await client();
    const stub = c.stub(svc);
    expect(await stub.Connect({ id: 'abcd' })).toEqual({ shimPid: 42, taskPid: 4, version: '2' });
    const err = await stub.State({ id: 'x' }).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    const un = await stub.Pids({ id: 'x' }).catch((e: TtrpcStatusError) => e);
    expect(un.code).toBe(GrpcCode.UNIMPLEMENTED);
  });
});
