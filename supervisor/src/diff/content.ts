/**
 * The seam between the diff service and a content store: the minimum the diff
 * service needs (containerd content.Provider ReaderAt + content.Ingester
 * Writer/Commit), and berthd's content store behind it: NamespacedContent
 * (metadata/content.ts over content/local-store.ts), the one content store.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { isNotFound, NotFoundError } from '../../../proto/src/errdefs';
import type { ContentStore as MetadataContentStore } from '../metadata/content';

/** An OCI descriptor (containerd.types.Descriptor). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ReaderAt {
  readonly size: number;
  /** Reads up to buf.length bytes at offset; resolves to the count (0 at the end). */
  readAt(buf: Buffer, offset: number): Promise<number>;
  close(): Promise<void>;
}

export interface ContentWriter {
  write(chunk: Buffer): Promise<void>;
  /**
   * Commits what was written as a blob: checks size and digest when given
   * (FailedPrecondition on a mismatch); AlreadyExists when the blob is there.
   */
  commit(size: number, expected: string, labels?: Record<string, string>): Promise<void>;
  /** Drops an uncommitted write. */
  close(): Promise<void>;
}

export interface ContentStore {
  /** NotFound when the blob is unknown. */
  readerAt(desc: Pick<Descriptor, 'digest'>): Promise<ReaderAt>;
  writer(ref: string): Promise<ContentWriter>;
}

/** A Readable over a ReaderAt (content.NewReader). */
export function readerStream(r: ReaderAt, chunk = 1 << 20): Readable {
  let off = 0;
  return new Readable({
    async read() {
      try {
        const buf = Buffer.alloc(chunk);
        const n = await r.readAt(buf, off);
        off += n;
        this.push(n === 0 ? null : buf.subarray(0, n));
      } catch (err) {
        this.destroy(err as Error);
      }
    },
  });
}

/**
 * berthd's content store seen from one namespace (and lease): blobs are read
 * only when the namespace holds them; what Diff writes is ingested, committed
 * and recorded in the namespace, and added to the lease.
 */
export class NamespacedContent implements ContentStore {
  constructor(
    private readonly store: MetadataContentStore,
    readonly namespace: string,
    readonly lease?: string,
  ) {}

  async readerAt(desc: Pick<Descriptor, 'digest'>): Promise<ReaderAt> {
    this.store.info(this.namespace, desc.digest); // NotFound when the namespace does not hold it
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.store.local.blobPath(desc.digest), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`content digest ${desc.digest}: not found`, { cause: err });
      throw err;
    }
    const size = (await fh.stat()).size;
    return {
      size,
      readAt: async (buf, offset) => (await fh.read(buf, 0, buf.length, offset)).bytesRead,
      close: () => fh.close(),
    };
  }

  async writer(ref: string): Promise<ContentWriter> {
    const w = await this.store.writer(this.namespace, ref, 0, '', this.lease);
    let done = false;
    return {
      write: async (chunk) => void w.write(chunk),
      commit: async (size, expected, labels) => {
        done = true;
        try {
          w.commit(size, expected, labels ?? {});
        } finally {
          w.close();
        }
      },
      close: async () => {
        if (done) return;
        done = true;
        w.close();
        try {
          this.store.abort(this.namespace, ref);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      },
    };
  }
}
