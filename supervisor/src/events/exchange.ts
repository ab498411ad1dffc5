/**
 * The event exchange (containerd's events/exchange): services publish typed
 * events under a topic in a namespace; subscribers get envelopes that match
 * any of their filters (fields: namespace, topic, and event.* is not kept).
 */
import { EventEmitter } from 'node:events';
import type * as protobuf from 'protobufjs';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { loadRoot } from '../../../proto/src/loader';
import { adapt, parseAll } from '../filters/filters';
import { now, type Timestamp } from '../services/grpc-util';

export interface Envelope {
  timestamp: Timestamp;
  namespace: string;
  topic: string;
  event: { type_url: string; value: Buffer } | null;
}

let eventsRoot: protobuf.Root | undefined;
function root(): protobuf.Root {
  eventsRoot ??= loadRoot(['events/container.proto', 'events/content.proto', 'events/image.proto', 'events/namespace.proto', 'events/snapshot.proto', 'events/task.proto']);
  return eventsRoot;
}

/** Encodes an event message by its full name (e.g. containerd.events.NamespaceCreate) into an Any. */
export function encodeEvent(typeName: string, msg: Record<string, unknown>): { type_url: string; value: Buffer } {
  const t = root().lookupType(typeName);
  return { type_url: typeName, value: Buffer.from(t.encode(t.fromObject(msg)).finish()) };
}

/** Decodes an Any holding one of the known events (for berthctl events). */
export function decodeEvent(any: { type_url: string; value: Buffer }): Record<string, unknown> | undefined {
  try {
    const t = root().lookupType(any.type_url.replace(/^.*\//, ''));
    return t.toObject(t.decode(any.value), { longs: Number, defaults: false }) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Topics are paths of identifiers: /images/create. */
export function validateTopic(topic: string): void {
  if (!topic) throw new InvalidArgumentError('must not be empty: invalid argument');
  if (!topic.startsWith('/')) throw new InvalidArgumentError(`must start with '/': invalid argument`);
  if (topic.length === 1) throw new InvalidArgumentError('must have at least one component: invalid argument');
  for (const c of topic.split('/').slice(1)) {
    if (!/^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/.test(c)) throw new InvalidArgumentError(`failed validation on component ${JSON.stringify(c)}: invalid argument`);
  }
}

export class Exchange {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(ns: string, topic: string, event: { type_url: string; value: Buffer }): void {
    this.forward({ timestamp: now(), namespace: ns, topic, event });
  }

  /**
   * Publishes a typed event from a daemon service. The event is encoded when
   * a subscriber first reads it: filters see only namespace and topic, and
   * most events (a snapshot's, with only the task manager's /tasks/exit
   * subscription) reach nobody. msg must not change after the call.
   */
  publishTyped(ns: string, topic: string, typeName: string, msg: Record<string, unknown>): void {
    let event: Envelope['event'] | undefined;
    const env = { timestamp: now(), namespace: ns, topic } as Envelope;
    Object.defineProperty(env, 'event', { enumerable: true, get: () => (event ??= encodeEvent(typeName, msg)) });
    this.forward(env);
  }

  /** Validates the topic and hands the envelope to the subscribers (forward never reads the event). */
  forward(env: Envelope): void {
    validateTopic(env.topic);
    this.emitter.emit('event', env);
  }

  /** Calls fn for each matching envelope until the returned function is called. */
  subscribe(filters: string[], fn: (env: Envelope) => void): () => void {
    const f = parseAll(filters);
    const listener = (env: Envelope) => {
      if (f.match(adapt({ namespace: env.namespace, topic: env.topic }))) fn(env);
    };
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
