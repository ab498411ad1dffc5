/**
 * Push (containerd's remotes.PushContent): every blob of the image that the
 * registry lacks is uploaded (HEAD, then POST + monolithic PUT with the
 * digest), children before parents, manifests by digest, and the root last
 * under the reference's tag.
 */
import { Readable } from 'node:stream';
import { NotFoundError } from '../../../../proto/src/errdefs';
import type { Client } from '../../client/client';
import { blobInfo, readBlob, type Descriptor } from '../../client/content';
import { children, isIndex, isManifest } from '../media-types';
import { noProgress, type ProgressFn } from '../progress';
import { parseReference } from '../reference';
import { Registry, type RegistryOptions } from './registry';

export interface PushOptions extends RegistryOptions {
  progress?: ProgressFn;
  concurrency?: number;
}

/** Content under a descriptor that is in the store, children first (post-order). */
async function walk(client: Client, desc: Descriptor, out: Descriptor[], seen: Set<string>, parentIsIndex: boolean): Promise<void> {
  if (seen.has(desc.digest)) return;
  const info = await blobInfo(client, desc.digest);
  if (!info) {
    if (parentIsIndex) return; // a platform that was not pulled
    throw new NotFoundError(`content ${desc.digest} is missing from the store`);
  }
  seen.add(desc.digest);
  if (isIndex(desc.mediaType) || isManifest(desc.mediaType)) {
    for (const k of children(desc.mediaType, await readBlob(client, desc.digest))) await walk(client, k, out, seen, isIndex(desc.mediaType));
  }
  out.push(desc);
}

async function pushBlob(client: Client, reg: Registry, d: Descriptor, progress: ProgressFn): Promise<void> {
  const id = d.digest.slice(7, 19);
  const size = Number(d.size);
  const head = await reg.request('HEAD', reg.url(`blobs/${d.digest}`), { ok: [200, 404] });
  head.body.resume();
  if (head.status === 200) {
    progress({ id, kind: 'blob', status: 'exists', current: size, total: size });
    return;
  }
  const start = await reg.request('POST', reg.url('blobs/uploads/'), { ok: [202], headers: { 'content-length': '0' } });
  start.body.resume();
  const loc = new URL(String(start.headers.location), reg.url(''));
  loc.searchParams.set('digest', d.digest);
  let sent = 0;
  const body = () => {
    return Readable.from(
      (async function* () {
        for await (const m of client.stream('content', 'Read', { digest: d.digest })) {
          sent += (m.data as Buffer).length;
          progress({ id, kind: 'blob', status: 'uploading', current: sent, total: size });
          yield m.data as Buffer;
        }
      })(),
    );
  };
  const put = await reg.request('PUT', loc.toString(), { ok: [201, 204], body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } });
  put.body.resume();
  progress({ id, kind: 'blob', status: 'done', current: size, total: size });
}

/** Pushes image `name` (from the store) to `reference` (defaults to the name). */
export async function push(client: Client, name: string, reference = name, opts: PushOptions = {}): Promise<Descriptor> {
  const progress = opts.progress ?? noProgress;
  const { image } = await client.call('images', 'Get', { name });
  const target = image.target as Descriptor;
  target.size = Number(target.size);
  const ref = parseReference(reference);
  const reg = new Registry(ref, opts, 'pull,push');
  try {
    const order: Descriptor[] = [];
    await walk(client, target, order, new Set(), false);
    const blobs = order.filter((d) => !isIndex(d.mediaType) && !isManifest(d.mediaType));
    const manifests = order.filter((d) => isIndex(d.mediaType) || isManifest(d.mediaType));
    let i = 0;
    const worker = async () => {
      while (i < blobs.length) await pushBlob(client, reg, blobs[i++], progress);
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 3, blobs.length) }, worker));
    for (const m of manifests) {
      const body = await readBlob(client, m.digest);
      const tag = m.digest === target.digest ? (ref.tag ?? m.digest) : m.digest;
      const res = await reg.request('PUT', reg.url(`manifests/${tag}`), { ok: [201, 200], body: () => body, headers: { 'content-type': m.mediaType, 'content-length': String(body.length) } });
      res.body.resume();
      progress({ id: m.digest.slice(7, 19), kind: isIndex(m.mediaType) ? 'index' : 'manifest', status: 'done', current: body.length, total: body.length });
    }
    return target;
  } finally {
    reg.close();
  }
}
