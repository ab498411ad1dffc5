/**
 * The diff service's logic (containerd diff/apply + diff/walking): Apply
 * unpacks a layer blob from the content store onto mounts; Diff writes the
 * changes between two mount sets to the content store as a layer.
 *
 * Mount handling: a single overlay mount with an upperdir is written (Apply)
 * or read (Diff) in its upper dir directly; a single bind mount is used
 * through its source directory; anything else is mounted on a temp dir (read
 * only for Diff) and always unmounted after (supervisor/src/mount).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { InvalidArgumentError, isAlreadyExists } from '../../../proto/src/errdefs';
import { LABEL_UNCOMPRESSED } from '../metadata/labels';
import { withTempMount } from '../mount/mount';
import type { Mount } from '../mount/types';
import { applyTar } from './apply';
import { changesToEntries, overlayChanges, overlayUpperIsPlain, walkChanges } from './changes';
import { asLayerError, compress, decompress, diffCompression, MediaTypes } from './compression';
import { readerStream, type ContentStore, type Descriptor } from './content';
import { readTar } from './tar/reader';
import { writeTar } from './tar/writer';

/** The label that records a compressed layer's uncompressed digest (its diff ID). */
export const UNCOMPRESSED_LABEL = LABEL_UNCOMPRESSED;

export interface DiffOptions {
  /** Media type of the result (default: OCI tar+gzip). */
  mediaType?: string;
  /** Content store ingest reference (default: a unique one). */
  ref?: string;
  /** Labels of the committed blob (the uncompressed label is added). */
  labels?: Record<string, string>;
}

/** A pass-through that counts and hashes what flows. */
class Digester extends Transform {
  private readonly hash = crypto.createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: string, cb: () => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    cb();
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

function option(m: Mount, key: string): string | undefined {
  const o = m.options.find((x) => x.startsWith(`${key}=`));
  return o?.slice(key.length + 1);
}

/** [upperdir, lowerdirs] of a single rw overlay mount, else undefined. */
function overlayDirs(mounts: Mount[]): [string, string[], boolean] | undefined {
  if (mounts.length !== 1 || mounts[0].type !== 'overlay') return undefined;
  const upper = option(mounts[0], 'upperdir');
  const lower = option(mounts[0], 'lowerdir');
  if (!upper || !lower || !path.isAbsolute(upper)) return undefined;
  return [upper, lower.split(':'), mounts[0].options.includes('userxattr')];
}

/** The source dir of a single bind mount, else undefined. */
function bindSource(mounts: Mount[]): string | undefined {
  if (mounts.length !== 1) return undefined;
  const m = mounts[0];
  const isBind = m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind');
  return isBind && path.isAbsolute(m.source) ? m.source : undefined;
}

/** The dirs a read-only view of `mounts` shows, lowest first... or undefined when not a plain overlay/bind. */
function viewLowerdirs(mounts: Mount[]): string[] | undefined {
  if (mounts.length === 0) return [];
  const src = bindSource(mounts);
  if (src) return [src];
  if (mounts.length === 1 && mounts[0].type === 'overlay' && !option(mounts[0], 'upperdir')) return option(mounts[0], 'lowerdir')?.split(':');
  return undefined;
}

export class DiffService {
  constructor(private readonly content: ContentStore) {}

  /**
   * Applies the layer desc onto mounts; resolves to the applied (uncompressed)
   * descriptor, whose digest is the layer's diff ID.
   */
  async apply(desc: Descriptor, mounts: Mount[]): Promise<Descriptor> {
    const compression = diffCompression(desc.mediaType);
    const ra = await this.content.readerAt(desc);
    try {
      const run = async (root: string, overlay?: { parents: string[]; userxattr: boolean }): Promise<Descriptor> => {
        const compressed = new Digester();
        const uncompressed = new Digester();
        const raw = readerStream(ra);
        raw.on('error', (e) => compressed.destroy(e));
        const plain = decompress(raw.pipe(compressed), compression);
        plain.on('error', (e) => uncompressed.destroy(e));
        const tarStream = plain.pipe(uncompressed);
        try {
          await applyTar(root, readTar(tarStream), overlay ? { whiteouts: 'overlay', ...overlay } : { whiteouts: 'delete' });
          // Whatever trails the end-of-archive blocks still counts for the digest.
          for await (const _ of tarStream) void _;
        } catch (err) {
          raw.destroy();
          throw asLayerError(err);
        }
        const got = compressed.digest();
        if (got !== desc.digest) {
          throw new InvalidArgumentError(`layer digest mismatch: content is ${got}, descriptor says ${desc.digest}`);
        }
        return { mediaType: MediaTypes.layer, digest: uncompressed.digest(), size: uncompressed.size };
      };
      const ov = overlayDirs(mounts);
      if (ov) return await run(ov[0], { parents: ov[1], userxattr: ov[2] });
      const src = bindSource(mounts);
      if (src && !mounts[0].options.includes('ro')) return await run(src);
      return await withTempMount(mounts, (root) => run(root));
    } finally {
      await ra.close();
    }
  }

  /** Writes the changes from lower to upper as a layer blob; resolves to its descriptor. */
  async diff(lower: Mount[], upper: Mount[], opts: DiffOptions = {}): Promise<Descriptor> {
    const mediaType = opts.mediaType || MediaTypes.layerGzip;
    const compression = diffCompression(mediaType);
    const ov = overlayDirs(upper);
    const lowerDirs = viewLowerdirs(lower);
    if (ov && lowerDirs && sameDirs(ov[1], lowerDirs) && (await overlayUpperIsPlain(ov[0]))) {
      // The overlay case: the upper dir holds exactly the changes.
      return this.write(changesToEntries(ov[0], overlayChanges(ov[0]), { overlay: true }), mediaType, compression, opts);
    }
    const upperSrc = bindSource(upper);
    if (upperSrc && lower.length === 0) {
      const empty = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'berth-diff-empty-'));
      try {
        return await this.write(changesToEntries(upperSrc, walkChanges(empty, upperSrc)), mediaType, compression, opts);
      } finally {
        await fs.promises.rmdir(empty);
      }
    }
    return withTempMount(
      lower,
      (lowerRoot) =>
        withTempMount(upper, (upperRoot) => this.write(changesToEntries(upperRoot, walkChanges(lowerRoot, upperRoot)), mediaType, compression, opts), {
          readonly: true,
        }),
      { readonly: true },
    );
  }

  private async write(
    entries: ReturnType<typeof changesToEntries>,
    mediaType: string,
    compression: ReturnType<typeof diffCompression>,
    opts: DiffOptions,
  ): Promise<Descriptor> {
    const ref = opts.ref || `berth-diff-${crypto.randomBytes(8).toString('hex')}`;
    const w = await this.content.writer(ref);
    const uncompressed = new Digester();
    const compressed = new Digester();
    try {
      const tar: Readable = writeTar(entries);
      tar.on('error', (e) => uncompressed.destroy(e));
      const out = compress(tar.pipe(uncompressed), compression);
      out.on('error', (e) => compressed.destroy(e));
      for await (const chunk of out.pipe(compressed)) await w.write(chunk as Buffer);
      const digest = compressed.digest();
      const labels = { ...(opts.labels ?? {}), [UNCOMPRESSED_LABEL]: uncompressed.digest() };
      try {
        await w.commit(compressed.size, digest, labels);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return { mediaType, digest, size: compressed.size };
    } catch (err) {
      await w.close();
      throw err;
    }
  }
}

function sameDirs(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((d, i) => path.resolve(d) === path.resolve(b[i]));
}
