/**
 * A ttrpc client on a `net` socket (containerd/ttrpc client.go): the
 * supervisor's way to a shim, and the shim's way to containerd's events.
 *
 * Calls are multiplexed on one connection with odd stream ids 1, 3, 5, ...
 * A non-OK status rejects the call with a TtrpcStatusError (errdefs'
 * kindOf() maps it back to a kind); a closed connection rejects every pending
 * call with Unavailable "ttrpc: closed".
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type * as protobuf from 'protobufjs';
import {
  FrameDecoder,
  MessageType,
  MESSAGE_LENGTH_MAX,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  socketPath,
  type KeyValue,
} from './framing';
import { GrpcCode, TtrpcStatusError } from './status';

export interface CallOptions {
  /** Deadline in milliseconds; sent to the server as timeout_nano. */
  timeoutMs?: number;
  metadata?: KeyValue[];
}

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

export class TtrpcClient extends EventEmitter {
  private nextStreamId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: Error | undefined;

  constructor(private readonly sock: net.Socket) {
    super();
    const decoder = new FrameDecoder(
      (frame) => {
        if (frame.type !== MessageType.Response) return;
        const p = this.pending.get(frame.streamId);
        if (!p) return; // late answer to a call that timed out
        this.settle(frame.streamId);
        let res;
        try {
          res = decodeResponse(frame.payload);
        } catch (err) {
          p.reject(new TtrpcStatusError(GrpcCode.INTERNAL, `ttrpc: bad response: ${(err as Error).message}`));
          return;
        }
        if (res.status && res.status.code !== GrpcCode.OK) p.reject(new TtrpcStatusError(res.status.code, res.status.message));
        else p.resolve(res.payload);
      },
      (over) => {
        const p = this.pending.get(over.streamId);
        if (!p) return;
        this.settle(over.streamId);
        p.reject(new TtrpcStatusError(GrpcCode.RESOURCE_EXHAUSTED,
          `message length ${over.length} exceed maximum message size of ${MESSAGE_LENGTH_MAX}`));
      },
    );
    sock.on('data', (chunk: Buffer) => decoder.push(chunk));
    sock.on('error', (err) => this.shutdown(err));
    sock.on('close', () => this.shutdown());
  }

  /** Connects to "unix:///path" or a bare socket path. */
  static connect(address: string, timeoutMs = 10_000): Promise<TtrpcClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath(address));
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new TtrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, `ttrpc: connect to ${address} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new TtrpcClient(sock));
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** One unary call with raw payload bytes. */
  call(service: string, method: string, payload: Uint8Array, opts: CallOptions = {}): Promise<Uint8Array> {
    if (this.closedError) return Promise.reject(this.closedError);
    const streamId = this.nextStreamId;
    this.nextStreamId = (this.nextStreamId + 2) >>> 0;
    const body = encodeRequest({
      service,
      method,
      payload,
      timeoutNano: opts.timeoutMs ? opts.timeoutMs * 1e6 : 0,
      metadata: opts.metadata ?? [],
    });
    if (body.length > MESSAGE_LENGTH_MAX) {
      return Promise.reject(new TtrpcStatusError(GrpcCode.RESOURCE_EXHAUSTED,
        `message length ${body.length} exceed maximum message size of ${MESSAGE_LENGTH_MAX}`));
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      if (opts.timeoutMs) {
        p.timer = setTimeout(() => {
          this.settle(streamId);
          reject(new TtrpcStatusError(GrpcCode.DEADLINE_EXCEEDED, 'context deadline exceeded'));
        }, opts.timeoutMs);
      }
      this.pending.set(streamId, p);
      this.sock.write(encodeFrame(streamId, MessageType.Request, body));
    });
  }

  /**
   * A typed stub for a protobufjs service: `stub.Create({id: ...})` resolves
   * to the decoded response as a plain object (longs as numbers, enums as numbers).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  stub(service: protobuf.Service): Record<string, (req: object, opts?: CallOptions) => Promise<any>> {
    const name = service.fullName.replace(/^\./, '');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const out: Record<string, (req: object, opts?: CallOptions) => Promise<any>> = {};
    for (const m of service.methodsArray) {
      m.resolve();
      const reqType = m.resolvedRequestType!;
      const resType = m.resolvedResponseType!;
      out[m.name] = async (req, opts) => {
        const payload = await this.call(name, m.name, reqType.encode(reqType.fromObject(req)).finish(), opts);
        return resType.toObject(resType.decode(payload), { longs: Number, defaults: true });
      };
    }
    return out;
  }

  close(): void {
    this.sock.destroy();
    this.shutdown();
  }

  private settle(streamId: number): void {
    const p = this.pending.get(streamId);
    if (p?.timer) clearTimeout(p.timer);
    this.pending.delete(streamId);
  }

  private shutdown(cause?: Error): void {
    if (this.closedError) return;
    this.closedError = new TtrpcStatusError(GrpcCode.UNAVAILABLE, cause ? `ttrpc: closed: ${cause.message}` : 'ttrpc: closed');
    for (const [id, p] of this.pending) {
      this.settle(id);
      p.reject(this.closedError);
    }
    this.emit('close');
  }
}
