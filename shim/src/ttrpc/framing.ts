/**
 * ttrpc's wire format (containerd/ttrpc channel.go and types.go).
 *
 * Every message is a 10-byte header followed by a protobuf payload:
 *
 *   0      4        8    9     10
 *   +------+--------+----+-----+-----------------+
 *   | len  | stream | ty | flg | payload (len B) |
 *   +------+--------+----+-----+-----------------+
 *   len, stream: u32 big-endian; ty: 1 request, 2 response; flg: reserved (0).
 *
 * A request's payload is a `Request{service, method, payload, timeout_nano,
 * metadata}`, a response's is a `Response{status: google.rpc.Status, payload}`.
 * Clients pick odd stream ids. A message longer than 4 MiB is refused: the
 * reader discards its bytes and answers ResourceExhausted on its stream, and
 * the connection stays usable (channel.go recv()).
 */
import * as protobuf from 'protobufjs/minimal';
import { ByteQueue } from '../../../proto/src/byte-queue';

export const HEADER_LENGTH = 10;
export const MESSAGE_LENGTH_MAX = 4 << 20;

export const MessageType = { Request: 1, Response: 2 } as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Buffer;
}

/** A frame whose header announced more than MESSAGE_LENGTH_MAX bytes; its payload was discarded. */
export interface OversizedFrame {
  streamId: number;
  type: number;
  length: number;
}

/** The bytes of one message: header + payload. */
export function encodeFrame(streamId: number, type: number, payload: Uint8Array, flags = 0): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(streamId >>> 0, 4);
  out[8] = type;
  out[9] = flags;
  out.set(payload, HEADER_LENGTH);
  return out;
}

/**
 * Turns a byte stream into frames. Chunks may split headers and payloads
 * anywhere; a payload is only copied when it spans chunks.
 */
export class FrameDecoder {
  private readonly q = new ByteQueue();
  /** Bytes of an oversized payload still to skip. */
  private discarding = 0;

  constructor(
    private readonly onFrame: (f: Frame) => void,
    private readonly onOversized: (f: OversizedFrame) => void,
  ) {}

  /** Bytes received but not yet part of a complete frame (a peer that stops mid-message leaves some). */
  get pending(): number {
    return this.q.length + this.discarding;
  }

  push(chunk: Buffer): void {
    if (this.discarding > 0) {
      const skip = Math.min(this.discarding, chunk.length);
      this.discarding -= skip;
      chunk = chunk.subarray(skip);
      if (chunk.length === 0) return;
    }
    this.q.push(chunk);
    for (;;) {
      if (this.q.length < HEADER_LENGTH) return;
      const header = this.q.peek(HEADER_LENGTH);
      const length = header.readUInt32BE(0);
      const streamId = header.readUInt32BE(4);
      const type = header[8];
      const flags = header[9];
      if (length > MESSAGE_LENGTH_MAX) {
        this.q.take(HEADER_LENGTH);
        const skip = Math.min(length, this.q.length);
        this.q.take(skip);
        this.discarding = length - skip;
        this.onOversized({ streamId, type, length });
        if (this.discarding > 0) return;
        continue;
      }
      if (this.q.length < HEADER_LENGTH + length) return;
      this.q.take(HEADER_LENGTH);
      const payload = this.q.take(length);
      this.onFrame({ streamId, type, flags, payload });
    }
  }
}

export interface KeyValue {
  key: string;
  value: string;
}

/** ttrpc.Request (types.go). */
export interface Request {
  service: string;
  method: string;
  payload: Uint8Array;
  /** Deadline relative to the send, in nanoseconds; 0 for none. */
  timeoutNano: number;
  metadata: KeyValue[];
}

/** google.rpc.Status; details are kept as raw Any bytes. */
export interface Status {
  code: number;
  message: string;
  details: Uint8Array[];
}

/** ttrpc.Response (types.go). */
export interface Response {
  status?: Status;
  payload: Uint8Array;
}

export function encodeRequest(r: Request): Uint8Array {
  const w = protobuf.Writer.create();
  if (r.service) w.uint32((1 << 3) | 2).string(r.service);
  if (r.method) w.uint32((2 << 3) | 2).string(r.method);
  if (r.payload.length) w.uint32((3 << 3) | 2).bytes(r.payload);
  if (r.timeoutNano) w.uint32((4 << 3) | 0).int64(r.timeoutNano);
  for (const kv of r.metadata) {
    w.uint32((5 << 3) | 2).fork();
    if (kv.key) w.uint32((1 << 3) | 2).string(kv.key);
    if (kv.value) w.uint32((2 << 3) | 2).string(kv.value);
    w.ldelim();
  }
  return w.finish();
}

export function decodeRequest(buf: Uint8Array): Request {
  const r = protobuf.Reader.create(buf);
  const out: Request = { service: '', method: '', payload: new Uint8Array(0), timeoutNano: 0, metadata: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: out.service = r.string(); break;
      case 2: out.method = r.string(); break;
      case 3: out.payload = r.bytes(); break;
      case 4: out.timeoutNano = longToNumber(r.int64()); break;
      case 5: out.metadata.push(decodeKeyValue(r.bytes())); break;
      default: r.skipType(tag & 7);
    }
  }
  return out;
}

function decodeKeyValue(buf: Uint8Array): KeyValue {
  const r = protobuf.Reader.create(buf);
  const kv: KeyValue = { key: '', value: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: kv.key = r.string(); break;
      case 2: kv.value = r.string(); break;
      default: r.skipType(tag & 7);
    }
  }
  return kv;
}

export function encodeResponse(r: Response): Uint8Array {
  const w = protobuf.Writer.create();
  if (r.status && (r.status.code || r.status.message || r.status.details.length)) {
    w.uint32((1 << 3) | 2).fork();
    if (r.status.code) w.uint32((1 << 3) | 0).int32(r.status.code);
    if (r.status.message) w.uint32((2 << 3) | 2).string(r.status.message);
    for (const d of r.status.details) w.uint32((3 << 3) | 2).bytes(d);
    w.ldelim();
  }
  if (r.payload.length) w.uint32((2 << 3) | 2).bytes(r.payload);
  return w.finish();
}

export function decodeResponse(buf: Uint8Array): Response {
  const r = protobuf.Reader.create(buf);
  const out: Response = { payload: new Uint8Array(0) };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: out.status = decodeStatus(r.bytes()); break;
      case 2: out.payload = r.bytes(); break;
      default: r.skipType(tag & 7);
    }
  }
  return out;
}

function decodeStatus(buf: Uint8Array): Status {
  const r = protobuf.Reader.create(buf);
  const st: Status = { code: 0, message: '', details: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: st.code = r.int32(); break;
      case 2: st.message = r.string(); break;
      case 3: st.details.push(r.bytes()); break;
      default: r.skipType(tag & 7);
    }
  }
  return st;
}

function longToNumber(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

/** A unix socket path from a ttrpc address: "unix:///run/x.sock" or a bare path. */
export function socketPath(address: string): string {
  if (address.startsWith('unix://')) return address.slice('unix://'.length);
  return address;
}
