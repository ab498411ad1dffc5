/**
 * The protobuf types the shim manager speaks over ttrpc: the shim's task
 * service (containerd.task.v2.Task), the ttrpc events service shims forward
 * to, and the task events.
 */
import type * as protobuf from 'protobufjs';
import { loadRoot } from '../../../proto/src/loader';

export const TASK_SERVICE = 'containerd.task.v2.Task';
export const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';

let root: protobuf.Root | undefined;

export function taskRoot(): protobuf.Root {
  root ??= loadRoot(['runtime/task/v2/shim.proto', 'services/ttrpc/events/v1/events.proto', 'events/task.proto']);
  return root;
}

/** An Any as it travels: type_url and the encoded value. */
export interface AnyMsg {
  type_url: string;
  value: Buffer;
}

/** The bytes of a google.protobuf.Any (what a shim's `start` reads on stdin). */
export function encodeAny(any: AnyMsg): Buffer {
  const t = taskRoot().lookupType('google.protobuf.Any');
  return Buffer.from(t.encode(t.fromObject({ type_url: any.type_url, value: any.value })).finish());
}
