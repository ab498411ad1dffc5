/**
 * Pull (containerd's client.Pull with the remotes/docker resolver): resolve
 * the reference, fetch the manifest tree (index → platform manifests →
 * config + layers), write every blob into the content store through the
 * resumable ingest with its digest verified, label parents with their
 * children (GC), and create or update the image. Layers go concurrently;
 * a blob already partly ingested resumes with a Range request, and a cut
 * connection is retried from the offset reached.
 */
import * as crypto from 'node:crypto';
import { BerthError, FailedPreconditionError, InvalidArgumentError, NotFoundError, isAlreadyExists, isUnavailable } from '../../../../proto/src/errdefs';
import type { Client } from '../../client/client';
import { CHUNK, RemoteWriter, setLabels, writeBlob, type Descriptor } from '../../client/content';
import { MediaType, children, childrenLabels, isIndex, isManifest, isConfig } from '../media-types';
import { defaultPlatform, matches, parsePlatform, type Platform } from '../platforms';
import { noProgress, type ProgressEvent, type ProgressFn } from '../progress';
import { formatReference, parseReference } from '../reference';
import { unpackImage } from '../unpacker';
import { Registry, readAll, type RegistryOptions } from './registry';

export const manifestAccept = [
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.OciIndex,
  '*/*',
].join(', ');

export interface PullOptions extends RegistryOptions {
  platform?: string;
  allPlatforms?: boolean;
  /** Concurrent blob downloads (containerd's max_concurrent_downloads, 3). */
  concurrency?: number;
  progress?: ProgressFn;
  /** Unpack into this snapshotter when an Unpacker is installed (empty: do not unpack). */
  snapshotter?: string;
}

/** Resolves a reference to its root descriptor (HEAD, falling back to GET). */
export async function resolve(reg: Registry, ref: { tag?: string; digest?: string }): Promise<Descriptor> {
  const id = ref.digest ?? ref.tag!;
  const headers = { accept: manifestAccept };
  const res = await reg.request('HEAD', reg.url(`manifests/${id}`), { headers });
  res.body.resume();
  let digest = (res.headers['docker-content-digest'] as string) ?? ref.digest;
  let size = Number(res.headers['content-length'] ?? 0);
  let mediaType = String(res.headers['content-type'] ?? '').split(';')[0];
  if (!digest || !size || !mediaType) {
    const get = await reg.request('GET', reg.url(`manifests/${id}`), { headers });
    const body = await readAll(get.body);
    digest = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
    size = body.length;
    mediaType = String(get.headers['content-type'] ?? '').split(';')[0];
  }
  if (ref.digest && digest !== ref.digest) throw new FailedPreconditionError(`registry answered ${digest} for ${ref.digest}`);
  return { mediaType, digest, size };
}

/** Fetches a small blob or manifest into memory, verifying size and digest. */
async function fetchSmall(reg: Registry, desc: Descriptor): Promise<Buffer> {
  const path = isIndex(desc.mediaType) || isManifest(desc.mediaType) ? `manifests/${desc.digest}` : `blobs/${desc.digest}`;
  const res = await reg.request('GET', reg.url(path), { headers: { accept: isIndex(desc.mediaType) || isManifest(desc.mediaType) ? manifestAccept : '*/*' } });
  const body = await readAll(res.body);
  const actual = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
  if (actual !== desc.digest || body.length !== Number(desc.size)) {
    throw new FailedPreconditionError(`content from ${path} does not match its descriptor: got ${actual} (${body.length} bytes), want ${desc.digest} (${desc.size} bytes)`);
  }
  return body;
}

function kindOfDesc(d: Descriptor): ProgressEvent['kind'] {
  if (isIndex(d.mediaType)) return 'index';
  if (isManifest(d.mediaType)) return 'manifest';
  if (isConfig(d.mediaType)) return 'config';
  return 'layer';
}

/** Fetches one blob into the content store, resuming a partial ingest and retrying cut connections. */
export async function fetchBlob(client: Client, reg: Registry, desc: Descriptor, progress: ProgressFn, labels: Record<string, string> = {}): Promise<void> {
  const id = desc.digest.slice(7, 19);
  const kind = kindOfDesc(desc);
  const size = Number(desc.size);
  const ref = `${kind}-${desc.digest}`;
  for (let attempt = 0; ; attempt++) {
    const w = new RemoteWriter(client, ref, desc.digest, size);
    try {
      let offset: number;
      try {
        offset = await w.stat();
      } catch (err) {
        if (isAlreadyExists(err)) {
          progress({ id, kind, status: 'exists', current: size, total: size });
          return;
        }
        throw err;
      }
      if (offset > size) offset = 0; // a bigger partial ingest is garbage: start over
      if (offset > 0) progress({ id, kind, status: 'resumed', current: offset, total: size });
      if (offset < size) {
        const headers: Record<string, string> = {};
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const res = await reg.request('GET', reg.url(`blobs/${desc.digest}`), { headers, ok: [200, 206] });
        let restart = offset > 0 && res.status === 200; // the server ignored the range
        let current = restart ? 0 : offset;
        if (restart) offset = 0;
        let pending: Buffer[] = [];
        let n = 0;
        const flush = async () => {
          if (!n) return;
          await w.write(pending.length === 1 ? pending[0] : Buffer.concat(pending), restart);
          restart = false;
          pending = [];
          n = 0;
        };
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            pending.push(chunk);
            n += chunk.length;
            current += chunk.length;
            if (n >= CHUNK) {
              await flush();
              progress({ id, kind, status: 'downloading', current, total: size });
            }
          }
        } finally {
          // Bytes received before a cut are good bytes of the blob (the commit verifies
          // the whole): keep them so that the retry resumes after them.
          await flush();
        }
        if (!res.body.complete) throw new BerthError('Unavailable', `connection closed while fetching ${desc.digest} at ${current} of ${size} bytes`);
        if (current !== size) throw new BerthError('Unavailable', `short read fetching ${desc.digest}: ${current} of ${size} bytes`);
      }
      try {
        await w.commit(labels);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      progress({ id, kind, status: 'done', current: size, total: size });
      return;
    } catch (err) {
      await w.flush().catch(() => undefined); // let the server take what was sent before the next attempt
      w.close();
      const e = err as NodeJS.ErrnoException;
      const retriable = isUnavailable(err) || e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || /aborted|premature/i.test(e.message ?? '');
      if (!retriable || attempt >= 3) {
        if (retriable) throw new BerthError('Unavailable', `failed to fetch ${desc.digest} after ${attempt + 1} attempts: ${e.message} (the partial download is kept and resumes on the next pull)`, { cause: err });
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

/** Runs tasks with at most `limit` at once; the first failure wins after all settle. */
async function limited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  let failure: unknown;
  const worker = async () => {
    while (i < items.length) {
      const x = items[i++];
      try {
        await fn(x);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure;
}

export interface PullResult {
  name: string;
  target: Descriptor;
  /** The platform manifests fetched, with their config and layers. */
  manifests: Array<{ manifest: Descriptor; config: Descriptor; layers: Descriptor[] }>;
  /** Chain IDs of the unpacked snapshots (empty until an Unpacker is installed). */
  chainIds: string[];
}

/** Pulls `reference` into the store under its normalised name. */
export async function pull(client: Client, reference: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(reference);
  const name = formatReference(ref);
  const want: Platform | undefined = opts.allPlatforms ? undefined : opts.platform ? parsePlatform(opts.platform) : defaultPlatform();
  const progress = opts.progress ?? noProgress;
  const reg = new Registry(ref, opts, 'pull');
  const source = { [`containerd.io/distribution.source.${ref.domain}`]: ref.path };
  try {
    return await client.withLease(async () => {
      const root = await resolve(reg, ref);
      const manifests: PullResult['manifests'] = [];
      const blobs: Descriptor[] = [];
      const visit = async (desc: Descriptor): Promise<void> => {
        const id = desc.digest.slice(7, 19);
        progress({ id, kind: kindOfDesc(desc), status: 'downloading', current: 0, total: Number(desc.size) });
        const body = await fetchSmall(reg, desc);
        let kids = children(desc.mediaType, body);
        if (isIndex(desc.mediaType)) {
          if (want) kids = kids.filter((k) => matches(want, k.platform));
          if (!kids.length) throw new NotFoundError(`no match for platform in manifest ${desc.digest}: not found`);
        }
        const labels = { ...source, ...childrenLabels(desc.mediaType, kids) };
        await writeBlob(client, `${kindOfDesc(desc)}-${desc.digest}`, (async function* () { yield body; })(), desc.digest, body.length, labels).then(async (r) => {
          if (r.existed) await setLabels(client, desc.digest, labels);
        });
        progress({ id, kind: kindOfDesc(desc), status: 'done', current: Number(desc.size), total: Number(desc.size) });
        if (isIndex(desc.mediaType)) {
          for (const k of kids) await visit(k);
        } else if (isManifest(desc.mediaType)) {
          const [config, ...layers] = kids;
          manifests.push({ manifest: desc, config, layers });
          blobs.push(config, ...layers);
        } else {
          throw new InvalidArgumentError(`unsupported manifest media type ${JSON.stringify(desc.mediaType)}`);
        }
      };
      await visit(root);
      const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
      for (const b of unique) progress({ id: b.digest.slice(7, 19), kind: kindOfDesc(b), status: 'waiting', current: 0, total: Number(b.size) });
      await limited(unique, opts.concurrency ?? 3, (b) => fetchBlob(client, reg, b, progress, source));
      const image = { name, labels: {}, target: { ...root, annotations: {} } };
      try {
        await client.call('images', 'Create', { image });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        await client.call('images', 'Update', { image, updateMask: { paths: ['target'] } });
      }
      const chainIds = opts.snapshotter ? await unpackImage(client, name, root, want, opts.snapshotter) : [];
      return { name, target: root, manifests, chainIds };
    }, { keepOnError: true });
  } finally {
    reg.close();
  }
}
