/**
 * The seam between the diff service and a content store: the minimum the diff
 * service needs (containerd content.Provider ReaderAt + content.Ingester
 * Writer/Commit). berthd's content store implements it; LocalContentStore is a
 * plain directory store (containerd's blobs/sha256/<hex> layout) for tests and
 * tools until then.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../../proto/src/errdefs';

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

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

export class LocalContentStore implements ContentStore {
  constructor(readonly root: string) {
    fs.mkdirSync(path.join(root, 'blobs', 'sha256'), { recursive: true });
    fs.mkdirSync(path.join(root, 'ingest'), { recursive: true });
  }

  blobPath(digest: string): string {
    const m = DIGEST_RE.exec(digest);
    if (!m) throw new InvalidArgumentError(`invalid digest ${JSON.stringify(digest)}`);
    return path.join(this.root, 'blobs', 'sha256', m[1]);
  }

  labels(digest: string): Record<string, string> {
    try {
      return JSON.parse(fs.readFileSync(this.blobPath(digest) + '.labels', 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  async readerAt(desc: Pick<Descriptor, 'digest'>): Promise<ReaderAt> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.blobPath(desc.digest), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`content ${desc.digest}: not found`, { cause: err });
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
    const tmp = path.join(this.root, 'ingest', crypto.createHash('sha256').update(ref).digest('hex') + '-' + crypto.randomBytes(4).toString('hex'));
    const fh = await fs.promises.open(tmp, 'wx');
    const hash = crypto.createHash('sha256');
    let written = 0;
    let done = false;
    return {
      write: async (chunk) => {
        hash.update(chunk);
        written += chunk.length;
        await fh.write(chunk);
      },
      commit: async (size, expected, labels) => {
        done = true;
        const digest = `sha256:${hash.digest('hex')}`;
        try {
          if (size > 0 && size !== written) throw new FailedPreconditionError(`unexpected commit size ${written}, expected ${size}`);
          if (expected && expected !== digest) throw new FailedPreconditionError(`unexpected commit digest ${digest}, expected ${expected}`);
          await fh.sync();
          await fh.close();
          const dst = this.blobPath(digest);
          if (fs.existsSync(dst)) throw new AlreadyExistsError(`content ${digest}: already exists`);
          if (labels) await fs.promises.writeFile(dst + '.labels', JSON.stringify(labels));
          await fs.promises.rename(tmp, dst);
        } finally {
          await fh.close().catch(() => undefined);
          await fs.promises.rm(tmp, { force: true });
        }
      },
      close: async () => {
        if (done) return;
        done = true;
        await fh.close().catch(() => undefined);
        await fs.promises.rm(tmp, { force: true });
      },
    };
  }
}
