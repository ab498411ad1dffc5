/**
 * Import of image archives (containerd's images/archive importer): OCI
 * image-layout tars (index.json + blobs/) and `docker save` tars
 * (manifest.json + <config>.json + <layer>/layer.tar, old and new layouts),
 * plain or gzip-compressed. Every blob goes through the content store's
 * ingest with its digest verified; names come from io.containerd.image.name,
 * org.opencontainers.image.ref.name (+ base name) or docker's RepoTags.
 */
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { BerthError, FailedPreconditionError, InvalidArgumentError, NotFoundError, isAlreadyExists, isNotFound } from '../../../proto/src/errdefs';
import type { Client } from '../client/client';
import { decompress } from '../diff/compression';
import { setLabels, writeBlob, type Descriptor } from '../client/content';
import { MediaType, children, childrenLabels, detectMediaType, isIndex, isManifest } from './media-types';
import { defaultPlatform, matches, parsePlatform, type Platform } from './platforms';
import { noProgress, type ProgressFn } from './progress';
import { normalize } from './reference';
import { unpackImage } from './unpacker';

export interface ImportOptions {
  baseName?: string;
  /** Also create <name>@<digest> images (ctr --digests). */
  digests?: boolean;
  allPlatforms?: boolean;
  platform?: string;
  indexName?: string;
  progress?: ProgressFn;
  /** Unpack each imported image into this snapshotter (when an Unpacker is installed). */
  snapshotter?: string;
}

export interface ImportedImage {
  name: string;
  target: Descriptor;
}

interface Entry {
  /** In-memory copy (metadata files and small blobs). */
  data?: Buffer;
  digest?: string;
  size: number;
  gzip?: boolean;
}

const MAX_INLINE = 1 << 20;
const blobPath = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/;

async function* entryBytes(stream: Readable, onFirst: (b: Buffer) => void, copy?: Buffer[]): AsyncGenerator<Buffer> {
  let first = true;
  for await (const c of stream) {
    const b = c as Buffer;
    if (first && b.length) {
      onFirst(b);
      first = false;
    }
    copy?.push(b);
    yield b;
  }
}

/** Reads the archive into the content store; returns what each path became. */
async function ingestArchive(client: Client, file: string, progress: ProgressFn): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const head = await new Promise<Buffer>((resolve, reject) => {
    const fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(2);
    try {
      fs.readSync(fd, b, 0, 2, 0);
      resolve(b);
    } catch (err) {
      reject(err);
    } finally {
      fs.closeSync(fd);
    }
  });
  const extract = tarStream.extract();
  const src: Readable = decompress(input, head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : 'none');
  src.on('error', (e) => extract.destroy(e));
  src.pipe(extract);
  const session = crypto.randomBytes(6).toString('hex');
  let sawEntry = false;
  try {
    for await (const entry of extract) {
      sawEntry = true;
      const name = entry.header.name.replace(/^\.\//, '').replace(/^\/+/, '');
      if (entry.header.type !== 'file' || !name) {
        entry.resume();
        continue;
      }
      const size = entry.header.size ?? 0;
      const m = blobPath.exec(name);
      if (m || !(name.endsWith('.json') || name === 'repositories' || name === 'oci-layout')) {
        const expected = m ? `${m[1]}:${m[2]}` : '';
        const copy: Buffer[] | undefined = size <= MAX_INLINE ? [] : undefined;
        const e: Entry = { size };
        const id = m ? expected.slice(7, 19) : name;
        progress({ id, kind: 'blob', status: 'writing', current: 0, total: size });
        let done = 0;
        const ref = `import-${session}-${name}`;
        try {
          const r = await writeBlob(
            client,
            ref,
            entryBytes(entry as unknown as Readable, (b) => (e.gzip = b[0] === 0x1f && b[1] === 0x8b), copy),
            expected,
            size,
            {},
            (n) => progress({ id, kind: 'blob', status: 'writing', current: (done += n), total: size }),
          );
          e.digest = r.digest;
          if (r.existed) {
            // Already in the store: nothing was read; keep a copy of small blobs (manifests) all the same.
            for await (const chunk of entry) copy?.push(chunk as Buffer);
          }
        } catch (err) {
          await client.call('content', 'Abort', { ref }).catch(() => undefined);
          if (m && (err as BerthError).kind === 'FailedPrecondition') {
            throw new FailedPreconditionError(`corrupt archive: ${name} does not match its digest: ${(err as Error).message}`, { cause: err });
          }
          throw err;
        }
        if (copy && copy.length) e.data = Buffer.concat(copy);
        else if (copy && size === 0) e.data = Buffer.alloc(0);
        progress({ id, kind: 'blob', status: 'done', current: size, total: size });
        entries.set(name, e);
      } else {
        const parts: Buffer[] = [];
        for await (const c of entry) parts.push(c as Buffer);
        entries.set(name, { data: Buffer.concat(parts), size });
      }
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw new InvalidArgumentError(`failed to read archive ${file}: ${(err as Error).message} (truncated or not a tar archive?)`, { cause: err });
  }
  if (!sawEntry) throw new InvalidArgumentError(`failed to read archive ${file}: no tar entries (empty or not a tar archive)`);
  return entries;
}

function json<T>(e: Entry | undefined, what: string): T {
  if (!e?.data) throw new InvalidArgumentError(`invalid archive: missing ${what}`);
  try {
    return JSON.parse(e.data.toString()) as T;
  } catch (err) {
    throw new InvalidArgumentError(`invalid archive: ${what} is not valid JSON`, { cause: err });
  }
}

const byDigest = (entries: Map<string, Entry>, d: string): Entry | undefined => entries.get(`blobs/${d.replace(':', '/')}`);

/** Walks the tree under a descriptor: checks presence and sets the children labels. */
async function walk(client: Client, entries: Map<string, Entry>, desc: Descriptor, want: Platform | undefined): Promise<void> {
  const e = byDigest(entries, desc.digest);
  if (!e) throw new NotFoundError(`invalid archive: content ${desc.digest} (${desc.mediaType}) is missing from the archive`);
  if (!isIndex(desc.mediaType) && !isManifest(desc.mediaType)) return;
  if (!e.data) throw new InvalidArgumentError(`invalid archive: manifest ${desc.digest} is too large`);
  let kids = children(desc.mediaType, e.data);
  if (isIndex(desc.mediaType) && want) kids = kids.filter((k) => matches(want, k.platform));
  if (isIndex(desc.mediaType) && kids.length === 0) throw new NotFoundError(`no manifest in ${desc.digest} matches the platform`);
  for (const k of kids) await walk(client, entries, k, want);
  await setLabels(client, desc.digest, childrenLabels(desc.mediaType, kids));
}

async function putImage(client: Client, name: string, target: Descriptor): Promise<void> {
  const image = { name, labels: {}, target: { mediaType: target.mediaType, digest: target.digest, size: target.size, annotations: target.annotations ?? {} } };
  try {
    await client.call('images', 'Create', { image });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    await client.call('images', 'Update', { image, updateMask: { paths: ['target'] } });
  }
}

function ociName(desc: Descriptor, opts: ImportOptions): string | undefined {
  const a = desc.annotations ?? {};
  if (a['io.containerd.image.name']) return a['io.containerd.image.name'];
  const ref = a['org.opencontainers.image.ref.name'];
  if (!ref) return undefined;
  if (opts.baseName) return ref.includes(':') || ref.includes('/') ? undefined : `${opts.baseName}:${ref}`;
  if (/[/:]/.test(ref)) {
    try {
      return normalize(ref);
    } catch {
      return undefined;
    }
  }
  return `import-${new Date().toISOString().slice(0, 10)}:${ref}`;
}

async function importOci(client: Client, entries: Map<string, Entry>, opts: ImportOptions, want?: Platform): Promise<ImportedImage[]> {
  const index = json<{ manifests?: Descriptor[] }>(entries.get('index.json'), 'index.json');
  const out: ImportedImage[] = [];
  for (const desc of index.manifests ?? []) {
    if (!desc.mediaType) {
      const e = byDigest(entries, desc.digest);
      if (e?.data) desc.mediaType = detectMediaType(e.data);
    }
    if (want && isManifest(desc.mediaType) && desc.platform && !matches(want, desc.platform)) continue;
    await walk(client, entries, desc, want);
    const name = ociName(desc, opts);
    const names = name ? [name] : [];
    if (opts.digests && opts.baseName) names.push(`${opts.baseName}@${desc.digest}`);
    for (const n of names) {
      await putImage(client, n, desc);
      out.push({ name: n, target: desc });
    }
  }
  if (opts.indexName) {
    const data = entries.get('index.json')!.data!;
    const r = await writeBlob(client, `import-index-${Date.now()}`, (async function* () { yield data; })(), '', data.length, childrenLabels(MediaType.OciIndex, index.manifests ?? []));
    const target = { mediaType: MediaType.OciIndex, digest: r.digest, size: data.length };
    await putImage(client, opts.indexName, target);
    out.push({ name: opts.indexName, target });
  }
  return out;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function importDocker(client: Client, entries: Map<string, Entry>, opts: ImportOptions): Promise<ImportedImage[]> {
  const list = json<DockerManifestEntry[]>(entries.get('manifest.json'), 'manifest.json');
  const out: ImportedImage[] = [];
  const blob = async (path: string, what: string): Promise<Entry & { digest: string }> => {
    const e = entries.get(path);
    if (!e) throw new NotFoundError(`invalid archive: ${what} ${path} is missing from the archive`);
    if (!e.digest) {
      const data = e.data!;
      const r = await writeBlob(client, `import-${crypto.randomBytes(6).toString('hex')}`, (async function* () { yield data; })(), '', data.length);
      e.digest = r.digest;
    }
    return e as Entry & { digest: string };
  };
  for (const item of list) {
    const config = await blob(item.Config, 'config');
    const layers: Descriptor[] = [];
    for (const l of item.Layers ?? []) {
      const e = await blob(l, 'layer');
      layers.push({ mediaType: e.gzip ? MediaType.DockerLayerGzip : MediaType.DockerLayer, digest: e.digest, size: e.size });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, digest: config.digest, size: config.size },
      layers,
    };
    const body = Buffer.from(JSON.stringify(manifest, null, 3));
    const labels = childrenLabels(MediaType.DockerManifest, [manifest.config, ...layers]);
    const r = await writeBlob(client, `import-manifest-${crypto.randomBytes(6).toString('hex')}`, (async function* () { yield body; })(), '', body.length, labels);
    const target: Descriptor = { mediaType: MediaType.DockerManifest, digest: r.digest, size: body.length };
    if (r.existed) await setLabels(client, r.digest, labels);
    const names: string[] = [];
    for (const t of item.RepoTags ?? []) {
      const n = normalize(t);
      if (!opts.baseName || n.startsWith(opts.baseName)) names.push(n);
    }
    if (opts.digests) for (const t of names.slice()) names.push(`${t.replace(/:[^:/]+$/, '')}@${r.digest}`);
    for (const n of names) {
      await putImage(client, n, target);
      out.push({ name: n, target });
    }
  }
  return out;
}

/** Imports an archive file; returns the images created or updated. */
export async function importArchive(client: Client, file: string, opts: ImportOptions = {}): Promise<ImportedImage[]> {
  if (!fs.existsSync(file)) throw new NotFoundError(`archive ${file}: not found`);
  const want = opts.allPlatforms ? undefined : opts.platform ? parsePlatform(opts.platform) : defaultPlatform();
  return client.withLease(async () => {
    const entries = await ingestArchive(client, file, opts.progress ?? noProgress);
    try {
      let out: ImportedImage[] | undefined;
      if (entries.has('index.json')) out = await importOci(client, entries, opts, want);
      else if (entries.has('manifest.json')) out = await importDocker(client, entries, opts);
      if (out) {
        if (opts.snapshotter) for (const i of out) await unpackImage(client, i.name, i.target, want, opts.snapshotter);
        return out;
      }
    } catch (err) {
      if (isNotFound(err) || err instanceof BerthError) throw err;
      throw new InvalidArgumentError(`invalid archive ${file}: ${(err as Error).message}`, { cause: err });
    }
    throw new InvalidArgumentError(`invalid archive ${file}: neither index.json (OCI) nor manifest.json (docker) found`);
  });
}
