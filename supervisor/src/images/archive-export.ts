/**
 * Export of images to an OCI image-layout tar (containerd's
 * images/archive exporter): oci-layout, index.json naming each image
 * (io.containerd.image.name and org.opencontainers.image.ref.name), and every
 * blob reachable from the targets under blobs/<alg>/<hex>. Blobs of other
 * platforms that are not in the store are left out, as containerd does.
 */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import * as tarStream from 'tar-stream';
import { NotFoundError, isNotFound } from '../../../proto/src/errdefs';
import type { Client } from '../client/client';
import { blobInfo, readBlob, type Descriptor } from '../client/content';
import { MediaType, children, isIndex, isManifest } from './media-types';
import { defaultPlatform, matches, parsePlatform, type Platform } from './platforms';
import { noProgress, type ProgressFn } from './progress';
import { parseReference } from './reference';

export interface ExportOptions {
  allPlatforms?: boolean;
  platform?: string;
  progress?: ProgressFn;
}

async function collect(client: Client, desc: Descriptor, want: Platform | undefined, out: Map<string, Descriptor>, root: boolean): Promise<void> {
  if (out.has(desc.digest)) return;
  // Hold the blob under the export's lease so that a collection cannot take it mid-export.
  try {
    await client.call('leases', 'AddResource', { id: client.lease, resource: { id: desc.digest, type: 'content' } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const info = await blobInfo(client, desc.digest);
  if (!info) {
    if (root) throw new NotFoundError(`content ${desc.digest} of the image is missing from the store`);
    return; // another platform's content, never fetched
  }
  out.set(desc.digest, desc);
  if (isIndex(desc.mediaType) || isManifest(desc.mediaType)) {
    let kids = children(desc.mediaType, await readBlob(client, desc.digest));
    if (isIndex(desc.mediaType) && want) kids = kids.filter((k) => matches(want, k.platform));
    for (const k of kids) await collect(client, k, want, out, isManifest(desc.mediaType));
  }
}

/** Writes the named images to `file` as one OCI archive. */
export async function exportArchive(client: Client, file: string, names: string[], opts: ExportOptions = {}): Promise<void> {
  return client.withLease(() => exportLeased(client, file, names, opts));
}

async function exportLeased(client: Client, file: string, names: string[], opts: ExportOptions): Promise<void> {
  const progress = opts.progress ?? noProgress;
  const want = opts.allPlatforms ? undefined : opts.platform ? parsePlatform(opts.platform) : defaultPlatform();
  const manifests: Descriptor[] = [];
  const blobs = new Map<string, Descriptor>();
  for (const name of names) {
    let image;
    try {
      image = (await client.call('images', 'Get', { name })).image;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`image ${JSON.stringify(name)}: not found`, { cause: err });
      throw err;
    }
    const t = image.target as Descriptor;
    await collect(client, t, want, blobs, true);
    const annotations: Record<string, string> = { ...(t.annotations ?? {}), 'io.containerd.image.name': name };
    try {
      const ref = parseReference(name);
      if (ref.tag) annotations['org.opencontainers.image.ref.name'] = ref.tag;
    } catch {
      /* a name that is not a reference */
    }
    manifests.push({ mediaType: t.mediaType, digest: t.digest, size: Number(t.size), annotations });
  }
  const pack = tarStream.pack();
  const tmp = `${file}.${process.pid}.tmp`;
  const done = pipeline(pack, fs.createWriteStream(tmp));
  const add = (name: string, body: Buffer) => new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime: new Date(0) }, body, (e) => (e ? reject(e) : resolve())));
  try {
    await add('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    for (const d of ['blobs/', 'blobs/sha256/']) pack.entry({ name: d, type: 'directory', mode: 0o755, mtime: new Date(0) });
    for (const [digest, desc] of blobs) {
      const id = digest.slice(7, 19);
      const info = await blobInfo(client, digest);
      const size = Number(info.size);
      progress({ id, kind: 'blob', status: 'writing', current: 0, total: size });
      const entry = pack.entry({ name: `blobs/${digest.replace(':', '/')}`, size, mode: 0o444, mtime: new Date(0) });
      let n = 0;
      for await (const m of client.stream('content', 'Read', { digest })) {
        const data = m.data as Buffer;
        if (!entry.write(data)) await new Promise<void>((r) => entry.once('drain', () => r()));
        n += data.length;
        progress({ id, kind: 'blob', status: 'writing', current: n, total: size });
      }
      await new Promise<void>((resolve, reject) => entry.end((e?: Error | null) => (e ? reject(e) : resolve())));
      progress({ id, kind: desc.mediaType === MediaType.OciConfig ? 'config' : 'blob', status: 'done', current: size, total: size });
    }
    await add('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests })));
    pack.finalize();
    await done;
    fs.renameSync(tmp, file);
  } catch (err) {
    pack.destroy();
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
