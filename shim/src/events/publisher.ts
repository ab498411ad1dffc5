/**
 * Task events from the shim to the supervisor, in order, none lost.
 *
 * containerd's shim forwards each event once and re-queues a failed one up
 * to five times (runtime/v2/shim/publisher.go), so events are dropped or
 * reordered while containerd restarts. Here the queue is strictly FIFO: the
 * head is retried (reconnecting with a capped backoff) until it is accepted,
 * and nothing behind it overtakes it. While the supervisor is unreachable the
 * queue is also written to disk (one file per event, atomically: temp file,
 * fsync, rename), and a shim starting in the same state directory sends
 * what a previous one left.
 *
 * Transport: containerd.services.events.ttrpc.v1.Events/Forward over
 * $TTRPC_ADDRESS, or else the publish binary (`containerd --address A
 * publish --topic T --namespace N`, the event's Any on stdin).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../../runtime/src/atomic-file';
import type * as protobuf from 'protobufjs';
import type { Logger } from '../logging';
import { now, type Timestamp } from '../timestamp';
import { TtrpcClient } from '../ttrpc/client';

export const Topics = {
  TaskCreate: '/tasks/create',
  TaskStart: '/tasks/start',
  TaskOOM: '/tasks/oom',
  TaskExit: '/tasks/exit',
  TaskDelete: '/tasks/delete',
  TaskExecAdded: '/tasks/exec-added',
  TaskExecStarted: '/tasks/exec-started',
  TaskPaused: '/tasks/paused',
  TaskResumed: '/tasks/resumed',
  TaskCheckpointed: '/tasks/checkpointed',
} as const;

export type EventName = keyof typeof Topics;

export interface PublisherConfig {
  namespace: string;
  /** $TTRPC_ADDRESS; empty to use the publish binary. */
  ttrpcAddress: string;
  /** -publish-binary and -address, for the fallback. */
  publishBinary: string;
  address: string;
  /** Where the queue is persisted while the supervisor is away. */
  queueDir: string;
  /** Loaded root holding containerd.events.* and the ttrpc events service. */
  root: protobuf.Root;
  log: Logger;
}

interface Item {
  seq: number;
  topic: string;
  /** The encoded Envelope. */
  envelope: Uint8Array;
  /** The event's Any alone (for the publish binary). */
  any: Uint8Array;
  persisted: boolean;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
const FORWARD_TIMEOUT_MS = 5_000;

export class Publisher {
  private readonly queue: Item[] = [];
  private seq = 0;
  private client?: TtrpcClient;
  private running = false;
  private closing = false;
  /** The last attempt failed: new events go to disk at once. */
  private failing = false;
  private drained: (() => void)[] = [];
  private readonly envelopeType: protobuf.Type;
  private readonly anyType: protobuf.Type;

  constructor(private readonly cfg: PublisherConfig) {
    this.envelopeType = cfg.root.lookupType('containerd.services.events.ttrpc.v1.Envelope');
    this.anyType = cfg.root.lookupType('google.protobuf.Any');
    this.recover();
  }

  /** Queues an event (e.g. 'TaskExit' with a TaskExit object); sending happens in the background. */
  publish(name: EventName, event: object, timestamp: Timestamp = now()): void {
    const type = this.cfg.root.lookupType(`containerd.events.${name}`);
    const any = { type_url: `containerd.events.${name}`, value: type.encode(type.fromObject(event)).finish() };
    const env = this.envelopeType.fromObject({ timestamp, namespace: this.cfg.namespace, topic: Topics[name], event: any });
    const item: Item = {
      seq: ++this.seq,
      topic: Topics[name],
      envelope: this.envelopeType.encode(env).finish(),
      any: this.anyType.encode(this.anyType.fromObject(any)).finish(),
      persisted: false,
    };
    this.cfg.log.debug('queue event', { component: 'shim.events', topic: item.topic, seq: item.seq });
    this.queue.push(item);
    if (this.failing) this.persist(item);
    this.kick();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once the queue is empty (or after `ms`). */
  flush(ms: number): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.drained.push(() => { clearTimeout(t); resolve(); });
    });
  }

  close(): void {
    this.closing = true;
    this.client?.close();
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
      if (this.queue.length && !this.closing) this.kick();
    });
  }

  private async loop(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (this.queue.length && !this.closing) {
      const head = this.queue[0];
      try {
        await this.send(head);
        this.queue.shift();
        if (head.persisted) fs.rmSync(this.file(head.seq), { force: true });
        delay = RETRY_MIN_MS;
        this.failing = false;
        if (this.queue.length === 0) for (const d of this.drained.splice(0)) d();
      } catch (err) {
        this.failing = true;
        this.cfg.log.warn('failed to forward event, will retry', { topic: head.topic, err, retry_ms: delay });
        for (const item of this.queue) if (!item.persisted) this.persist(item);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  private async send(item: Item): Promise<void> {
    if (!this.cfg.ttrpcAddress) return this.sendWithBinary(item);
    if (!this.client || this.client.closed) {
      this.client = await TtrpcClient.connect(this.cfg.ttrpcAddress, FORWARD_TIMEOUT_MS);
      this.client.on('close', () => { this.client = undefined; });
    }
    // ForwardRequest{envelope = 1}: the envelope's bytes as field 1.
    const req = Buffer.concat([Buffer.from([0x0a]), varint(item.envelope.length), item.envelope]);
    await this.client.call('containerd.services.events.ttrpc.v1.Events', 'Forward', req, { timeoutMs: FORWARD_TIMEOUT_MS });
  }

  private sendWithBinary(item: Item): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.cfg.publishBinary,
        ['--address', this.cfg.address, 'publish', '--topic', item.topic, '--namespace', this.cfg.namespace],
        { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${this.cfg.publishBinary} publish: exit ${code}: ${stderr.trim()}`))));
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(Buffer.from(item.any));
    });
  }

  private file(seq: number): string {
    return path.join(this.cfg.queueDir, `${String(seq).padStart(12, '0')}.event`);
  }

  /** Writes one item atomically; the file holds the topic line and the envelope. */
  private persist(item: Item): void {
    try {
      fs.mkdirSync(this.cfg.queueDir, { recursive: true, mode: 0o700 });
      const body = Buffer.concat([Buffer.from(`${item.topic}\n${item.any.length}\n`), item.any, item.envelope]);
      writeFileAtomic(this.file(item.seq), body, 0o600);
      item.persisted = true;
    } catch (err) {
      this.cfg.log.error('failed to persist event', { topic: item.topic, err });
    }
  }

  /** Requeues what a previous shim in the same state directory could not send. */
  private recover(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.cfg.queueDir).filter((n) => n.endsWith('.event')).sort();
    } catch {
      return;
    }
    for (const n of names) {
      try {
        const buf = fs.readFileSync(path.join(this.cfg.queueDir, n));
        const nl1 = buf.indexOf(10);
        const nl2 = buf.indexOf(10, nl1 + 1);
        const anyLen = Number(buf.toString('utf8', nl1 + 1, nl2));
        const seq = Number(n.slice(0, 12));
        this.queue.push({
          seq,
          topic: buf.toString('utf8', 0, nl1),
          any: buf.subarray(nl2 + 1, nl2 + 1 + anyLen),
          envelope: buf.subarray(nl2 + 1 + anyLen),
          persisted: true,
        });
        this.seq = Math.max(this.seq, seq);
      } catch (err) {
        this.cfg.log.warn('dropping unreadable queued event', { file: n, err });
      }
    }
    if (this.queue.length) {
      this.cfg.log.info('resending queued events', { count: this.queue.length });
      this.kick();
    }
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
