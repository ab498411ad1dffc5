/**
 * Content over the wire: a resumable writer on the Write stream (STAT first,
 * then append from the offset the store already has) and a reader.
 */
import * as crypto from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { fromGrpc, isAlreadyExists } from '../../../proto/src/errdefs';
import type { Client, Msg } from './client';

/** Bytes per content Write message, as containerd's clients (256 KiB and 4 MiB measured no better). */
export const CHUNK = 1 << 20;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

/**
 * One ingest session: await stat() for the resume offset, write(), then
 * commit(). Writes are pipelined: up to `window` of them are on the wire
 * before the first answer is awaited, so reading the source, the transfer and
 * the server's disk writes overlap (the server answers them in order).
 */
export class RemoteWriter {
  private inflight: Array<Promise<void>> = [];
  /** Bytes sent (the offset the next write starts at). */
  private sent = 0;
  window = 4;
  private readonly call: grpc.ClientDuplexStream<Msg, Msg>;
  private readonly responses: Msg[] = [];
  private waiters: Array<{ resolve: (m: Msg) => void; reject: (e: Error) => void }> = [];
  private error: Error | undefined;
  private ended = false;
  offset = 0;

  constructor(
    client: Client,
    readonly ref: string,
    readonly expected: string,
    readonly total: number,
  ) {
    this.call = client.duplex('content', 'Write');
    this.call.on('data', (m: Msg) => {
      const w = this.waiters.shift();
      if (w) w.resolve(m);
      else this.responses.push(m);
    });
    this.call.on('error', (e: grpc.ServiceError) => {
      this.error = typeof e.code === 'number' ? fromGrpc(e.code, e.details || e.message, e) : e;
      for (const w of this.waiters.splice(0)) w.reject(this.error);
    });
    this.call.on('end', () => {
      this.ended = true;
      const err = this.error ?? new Error('content write stream ended');
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
  }

  private next(): Promise<Msg> {
    const m = this.responses.shift();
    if (m) return Promise.resolve(m);
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.reject(new Error('content write stream ended'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private send(req: Msg): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.call.write(req, (err?: Error) => (err ? reject(err) : resolve()));
    });
  }

  /** Opens the ingest; returns the offset already written (resume point). */
  async stat(): Promise<number> {
    await this.send({ action: 'STAT', ref: this.ref, total: this.total, expected: this.expected });
    const res = await this.next();
    this.offset = Number(res.offset);
    this.sent = this.offset;
    return this.offset;
  }

  /** Appends data at the current offset (offset 0 on a partial ingest starts over). */
  async write(data: Buffer, restart = false): Promise<void> {
    const offset = restart ? 0 : this.sent;
    this.sent = offset + data.length;
    await this.send({ action: 'WRITE', ref: this.ref, offset, data });
    const answered = this.next().then((res) => {
      this.offset = Number(res.offset);
    });
    answered.catch(() => undefined); // awaited below or by flush()
    this.inflight.push(answered);
    while (this.inflight.length >= this.window) await this.inflight.shift();
  }

  /** Sends one WRITE at an explicit offset and waits for its answer (no pipelining). */
  async writeAt(offset: number, data: Buffer): Promise<void> {
    await this.flush();
    await this.send({ action: 'WRITE', ref: this.ref, offset, data });
    const res = await this.next();
    this.offset = Number(res.offset);
    this.sent = this.offset;
  }

  /** Waits for the answers to every write sent. */
  async flush(): Promise<void> {
    while (this.inflight.length) await this.inflight.shift();
  }

  /** Verifies size and digest on the server and makes the blob visible. */
  async commit(labels: Record<string, string> = {}): Promise<string> {
    await this.flush();
    await this.send({ action: 'COMMIT', ref: this.ref, total: this.total, expected: this.expected, offset: this.offset, labels });
    const res = await this.next();
    this.call.end();
    return res.digest;
  }

  close(): void {
    this.call.end();
  }
}

/**
 * Writes a whole stream as a blob (ref is the ingest name). Returns the
 * digest; an existing blob with the expected digest counts as written.
 */
export async function writeBlob(
  client: Client,
  ref: string,
  source: AsyncIterable<Buffer>,
  expected = '',
  total = 0,
  labels: Record<string, string> = {},
  onProgress?: (n: number) => void,
): Promise<{ digest: string; size: number; existed: boolean }> {
  const w = new RemoteWriter(client, ref, expected, total);
  try {
    try {
      await w.stat();
    } catch (err) {
      if (isAlreadyExists(err)) return { digest: expected, size: total, existed: true };
      throw err;
    }
    let first = true;
    let size = 0;
    // Without an expected digest, hash here too: a commit of content that is
    // already there answers AlreadyExists, and the caller still needs the digest.
    const hash = expected ? undefined : crypto.createHash('sha256');
    for await (const chunk of rechunk(source, CHUNK)) {
      await w.write(chunk, first);
      hash?.update(chunk);
      first = false;
      size += chunk.length;
      onProgress?.(chunk.length);
    }
    if (first) await w.write(Buffer.alloc(0), true);
    try {
      const digest = await w.commit(labels);
      return { digest, size, existed: false };
    } catch (err) {
      if (isAlreadyExists(err)) return { digest: expected || `sha256:${hash!.digest('hex')}`, size, existed: true };
      throw err;
    }
  } catch (err) {
    w.close();
    if (isAlreadyExists(err) && expected) return { digest: expected, size: total, existed: true };
    throw err;
  }
}

/** Regroups a byte stream into chunks of at most `size` bytes (fewer round trips). */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let n = 0;
  for await (const c of source) {
    let chunk = c;
    while (chunk.length > 0) {
      const take = Math.min(size - n, chunk.length);
      parts.push(chunk.subarray(0, take));
      n += take;
      chunk = chunk.subarray(take);
      if (n === size) {
        yield parts.length === 1 ? parts[0] : Buffer.concat(parts);
        parts = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield Buffer.concat(parts);
}

/** Reads a whole blob. */
export async function readBlob(client: Client, digest: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const m of client.stream('content', 'Read', { digest })) parts.push(m.data);
  return Buffer.concat(parts);
}

export async function blobInfo(client: Client, digest: string): Promise<Msg | undefined> {
  try {
    return (await client.call('content', 'Info', { digest })).info;
  } catch {
    return undefined;
  }
}

/** Sets labels (merging, labels.<key> paths) on a blob. */
export async function setLabels(client: Client, digest: string, labels: Record<string, string>): Promise<void> {
  const keys = Object.keys(labels);
  if (!keys.length) return;
  await client.call('content', 'Update', { info: { digest, labels }, updateMask: { paths: keys.map((k) => `labels.${k}`) } });
}
