/**
 * HTTP/2 limits of the server connection (server.test.ts drives the common
 * paths with grpc-js's client): an oversized header list refuses one stream
 * and keeps the connection; protocol errors end the connection with GOAWAY.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GrpcServer } from './server';

const echo: grpc.ServiceDefinition = {
  Echo: {
    path: '/berth.test.Limits/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

describe('grpc-server http2 limits', () => {
  let dir: string;
  let sock: string;
  let server: GrpcServer;
  let client: grpc.Client | undefined;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-h2-'));
    sock = path.join(dir, 's.sock');
    server = new GrpcServer();
    server.addService(echo, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
    await server.listen(sock);
  });
  afterEach(() => {
    client?.close();
    client = undefined;
    server.forceShutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (c: grpc.Client, md: grpc.Metadata): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      c.makeUnaryRequest('/berth.test.Limits/Echo', (b: Buffer) => b, (b: Buffer) => b, Buffer.from('hi'), md, (err, res) => (err ? reject(err) : resolve(res!))),
    );

  it('refuses a header list over 1 MiB with RESOURCE_EXHAUSTED, and the connection serves on', async () => {
    // Through a proxy that counts connections: grpc-js would reconnect by itself.
    let connections = 0;
    const px = net.createServer((down) => {
      connections++;
      const up = net.connect(sock);
      down.pipe(up).on('error', () => down.destroy());
      up.pipe(down).on('error', () => up.destroy());
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    const pxPath = path.join(dir, 'px.sock');
    await new Promise<void>((r) => px.listen(pxPath, r));
    try {
      client = new grpc.Client(`unix:${pxPath}`, grpc.credentials.createInsecure());
      const big = new grpc.Metadata();
      big.set('x-big', 'a'.repeat(1100 * 1024));
      await expect(call(client, big)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
      expect((await call(client, new grpc.Metadata())).toString()).toBe('hi');
      expect(connections).toBe(1);
    } finally {
      client?.close();
      client = undefined;
      px.close();
    }
  });

  /** Sends the preface, SETTINGS and then bytes; resolves with the GOAWAY error code the server sends, if any. */
  const goawayAfter = (bytes: Buffer): Promise<number | undefined> =>
    new Promise((resolve) => {
      const s = net.connect(sock);
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        for (let off = 0; got.length - off >= 9; ) {
          const len = got.readUIntBE(off, 3);
          if (got.length - off < 9 + len) break;
          if (got[off + 3] === 0x7) {
            resolve(got.readUInt32BE(off + 13));
            s.destroy();
            return;
          }
          off += 9 + len;
        }
      });
      s.on('close', () => resolve(undefined));
      s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), bytes]));
    });

  it('closes a connection it ended with GOAWAY even when the client keeps its side open; shutdown does not wait for it', async () => {
    const s = net.connect({ path: sock, allowHalfOpen: true });
    s.on('error', () => undefined);
    const goaway = new Promise<void>((r) => s.on('data', (d: Buffer) => d.includes(Buffer.from([0x7, 0, 0, 0, 0, 0])) && r()));
    // DATA on a stream never opened: a connection error
    s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 2, 0, 0, 0, 0, 0, 7, 1, 2])]));
    await goaway;
    const t0 = Date.now();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
    expect(Date.now() - t0).toBeLessThan(1000);
    s.destroy();
  });

  it('ends the connection with GOAWAY PROTOCOL_ERROR on DATA for a stream never opened', async () => {
    // DATA, 2 bytes, stream 7
    expect(await goawayAfter(Buffer.from([0, 0, 2, 0, 0, 0, 0, 0, 7, 1, 2]))).toBe(0x1);
  });

  it('ends the connection with GOAWAY FRAME_SIZE_ERROR on a frame above 16 KiB', async () => {
    expect(await goawayAfter(Buffer.from([0, 0x40, 1, 0, 0, 0, 0, 0, 1]))).toBe(0x6);
  });

  it('ends the connection with GOAWAY COMPRESSION_ERROR on a header block that does not decode', async () => {
    // HEADERS, END_HEADERS, stream 1: index 0 is invalid
    expect(await goawayAfter(Buffer.from([0, 0, 1, 1, 4, 0, 0, 0, 1, 0x80]))).toBe(0x9);
  });
});
