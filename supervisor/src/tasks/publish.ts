/**
 * `berthd publish --topic T --namespace N` (containerd's `publish`): the
 * -publish-binary a shim runs to publish an event when it has no
 * TTRPC_ADDRESS. The event's Any comes on stdin and goes to the daemon's
 * events service (Publish) at --address.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import { Client } from '../client/client';
import { taskRoot } from './protos';

export async function publish(address: string, namespace: string, topic: string, input: Buffer = fs.readFileSync(0)): Promise<void> {
  if (!topic) throw new InvalidArgumentError('topic required to publish event: invalid argument');
  const t = taskRoot().lookupType('google.protobuf.Any');
  let event: { type_url: string; value: Buffer };
  try {
    const any = t.toObject(t.decode(input)) as { type_url?: string; value?: Uint8Array };
    event = { type_url: any.type_url ?? '', value: Buffer.from(any.value ?? []) };
  } catch (err) {
    throw new InvalidArgumentError(`failed to read the event from stdin: ${(err as Error).message}`, { cause: err });
  }
  const c = new Client(address, namespace);
  try {
    await c.call('events', 'Publish', { topic, event });
  } finally {
    c.close();
  }
}
