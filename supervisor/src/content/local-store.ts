/**
 * The content store on disk, in containerd's layout (content/local/store.go):
 *
 *   <root>/blobs/sha256/<hex>               committed blobs, read-only (0444)
 *   <root>/ingest/<sha256(ref)>/data        bytes written so far (offset = its size)
 *   <root>/ingest/<sha256(ref)>/{ref,startedat,updatedat,total}
 *
 * It knows nothing of namespaces (metadata/content.ts adds them). A commit
 * checks size and digest, fsyncs, and renames the data file into blobs/, so a
 * blob is either absent or complete. A ref has one writer at a time.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AlreadyExistsError,
  BerthError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../../../proto/src/errdefs';
import { parseDigest } from './digest';

export interface IngestStatus {
  ref: string;
  offset: number;
  total: number;
  startedAt: Date;
  updatedAt: Date;
}

export class LocalStore {
  private readonly locks = new Map<string, Date>();

  constructor(readonly root: string) {
    fs.mkdirSync(path.join(root, 'blobs', 'sha256'), { recursive: true });
    fs.mkdirSync(path.join(root, 'ingest'), { recursive: true });
  }

  blobPath(digest: string): string {
    const d = parseDigest(digest);
    return path.join(this.root, 'blobs', d.algorithm, d.hex);
  }

  /** Size of a committed blob; NotFound when absent. */
  size(digest: string): number {
    try {
      return fs.statSync(this.blobPath(digest)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`content digest ${digest}: not found`);
      throw err;
    }
  }

  exists(digest: string): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  /** Every committed blob's digest. */
  listBlobs(): string[] {
    const out: string[] = [];
    for (const alg of fs.readdirSync(path.join(this.root, 'blobs'))) {
      for (const hex of fs.readdirSync(path.join(this.root, 'blobs', alg))) out.push(`${alg}:${hex}`);
    }
    return out;
  }

  deleteBlob(digest: string): void {
    fs.rmSync(this.blobPath(digest), { force: true });
  }

  /** A stream over [offset, offset+size) of a blob (size 0: to the end). */
  read(digest: string, offset = 0, size = 0): fs.ReadStream {
    const total = this.size(digest);
    if (offset < 0 || offset > total) throw new InvalidArgumentError(`offset ${offset} out of range for ${digest} of size ${total}`);
    const end = size > 0 ? Math.min(total, offset + size) - 1 : total - 1;
    return fs.createReadStream(this.blobPath(digest), { start: offset, end: Math.max(end, offset - 1), highWaterMark: 1 << 20 });
  }

  ingestDir(ref: string): string {
    return path.join(this.root, 'ingest', crypto.createHash('sha256').update(ref).digest('hex'));
  }

  status(ref: string): IngestStatus {
    const dir = this.ingestDir(ref);
    let st: fs.Stats;
    try {
      st = fs.statSync(path.join(dir, 'data'));
    } catch {
      throw new NotFoundError(`ref ${ref}: not found`);
    }
    const readTime = (f: string): Date => {
      try {
        return new Date(fs.readFileSync(path.join(dir, f), 'utf8'));
      } catch {
        return st.mtime;
      }
    };
    let total = 0;
    try {
      total = Number(fs.readFileSync(path.join(dir, 'total'), 'utf8')) || 0;
    } catch {
      /* unknown total */
    }
    return { ref, offset: st.size, total, startedAt: readTime('startedat'), updatedAt: st.mtime };
  }

  /** Statuses of every ingest on disk (refs read back from their ref files). */
  listIngests(): IngestStatus[] {
    const out: IngestStatus[] = [];
    for (const d of fs.readdirSync(path.join(this.root, 'ingest'))) {
      try {
        const ref = fs.readFileSync(path.join(this.root, 'ingest', d, 'ref'), 'utf8');
        out.push(this.status(ref));
      } catch {
        /* half-made ingest dir: GC removes it */
      }
    }
    return out;
  }

  /** Removes an ingest; NotFound when there is none. Refused while a writer holds it. */
  abort(ref: string): void {
    if (this.locks.has(ref)) throw new UnavailableError(`ref ${ref} locked: unavailable`);
    const dir = this.ingestDir(ref);
    if (!fs.existsSync(dir)) throw new NotFoundError(`ref ${ref}: not found`);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** Ingest directories whose ref is not in `keep` and that no writer holds (GC). */
  removeIngestsExcept(keep: Set<string>): string[] {
    const removed: string[] = [];
    for (const d of fs.readdirSync(path.join(this.root, 'ingest'))) {
      let ref = '';
      try {
        ref = fs.readFileSync(path.join(this.root, 'ingest', d, 'ref'), 'utf8');
      } catch {
        /* no ref file: orphan */
      }
      if (keep.has(ref) || this.locks.has(ref)) continue;
      fs.rmSync(path.join(this.root, 'ingest', d), { recursive: true, force: true });
      removed.push(ref || d);
    }
    return removed;
  }

  /** Opens (or resumes) the ingest of ref; refused while another writer holds it. */
  async writer(ref: string, total = 0): Promise<LocalWriter> {
    if (!ref) throw new InvalidArgumentError('ref must not be empty: invalid argument');
    const since = this.locks.get(ref);
    if (since) {
      throw new UnavailableError(`ref ${ref} locked for ${Date.now() - since.getTime()}ms (since ${since.toISOString()}): unavailable`);
    }
    this.locks.set(ref, new Date());
    try {
      const dir = this.ingestDir(ref);
      fs.mkdirSync(dir, { recursive: true });
      const dataPath = path.join(dir, 'data');
      const fresh = !fs.existsSync(dataPath);
      if (fresh) {
        fs.writeFileSync(path.join(dir, 'ref'), ref);
        fs.writeFileSync(path.join(dir, 'startedat'), new Date().toISOString());
      }
      if (total > 0) fs.writeFileSync(path.join(dir, 'total'), String(total));
      const fd = fs.openSync(dataPath, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
      const hash = crypto.createHash('sha256');
      let offset = 0;
      if (!fresh) {
        // Resume: the digest covers the bytes already there.
        for await (const chunk of fs.createReadStream(dataPath, { highWaterMark: 1 << 20 })) {
          hash.update(chunk as Buffer);
          offset += (chunk as Buffer).length;
        }
      }
      return new LocalWriter(this, ref, dir, fd, hash, offset, total, () => this.locks.delete(ref));
    } catch (err) {
      this.locks.delete(ref);
      throw err;
    }
  }
}

export class LocalWriter {
  private closed = false;

  constructor(
    private readonly store: LocalStore,
    readonly ref: string,
    private readonly dir: string,
    private fd: number,
    private hash: crypto.Hash,
    public offset: number,
    public total: number,
    private readonly unlock: () => void,
  ) {}

  digest(): string {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }

  status(): IngestStatus {
    return { ...this.store.status(this.ref), offset: this.offset, total: this.total };
  }

  /**
   * Appends data. On failure (a full disk) the file is cut back to the last
   * whole write, so the ingest stays consistent and can be resumed.
   */
  write(data: Buffer): number {
    let done = 0;
    try {
      while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, this.offset + done);
    } catch (err) {
      try {
        fs.ftruncateSync(this.fd, this.offset);
      } catch {
        /* keep the original error */
      }
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
        throw new BerthError('ResourceExhausted', `failed to write ingest ${this.ref} at offset ${this.offset}: no space left on device (the ingest is kept and can be resumed)`, { cause: err });
      }
      throw err;
    }
    this.hash.update(data);
    this.offset += data.length;
    return data.length;
  }

  /** Starts over (a Write with offset 0 on a partial ingest). */
  truncate(size: number): void {
    if (size !== 0) throw new InvalidArgumentError('truncate is only supported to 0');
    fs.ftruncateSync(this.fd, 0);
    this.hash = crypto.createHash('sha256');
    this.offset = 0;
  }

  /**
   * Verifies size and digest, then fsyncs and renames the data into blobs/.
   * Returns the digest. AlreadyExists when the blob is already there (the
   * ingest is removed either way).
   */
  commit(size: number, expected: string, name = this.ref): string {
    const actual = this.digest();
    if (size > 0 && size !== this.offset) {
      throw new FailedPreconditionError(`${JSON.stringify(name)} failed size validation: ${this.offset} != ${size}: failed precondition`);
    }
    if (expected && expected !== actual) {
      throw new FailedPreconditionError(`unexpected commit digest ${actual}, expected ${expected}: failed precondition`);
    }
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
    const target = this.store.blobPath(actual);
    if (fs.existsSync(target)) {
      fs.rmSync(this.dir, { recursive: true, force: true });
      this.close();
      throw new AlreadyExistsError(`content ${actual}: already exists`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const data = path.join(this.dir, 'data');
    fs.chmodSync(data, 0o444);
    fs.renameSync(data, target);
    const dfd = fs.openSync(path.dirname(target), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.close();
    return actual;
  }

  /** Releases the ref; the partial ingest stays on disk for a later resume. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd >= 0) {
      try {
        fs.writeFileSync(path.join(this.dir, 'updatedat'), new Date().toISOString());
      } catch {
        /* the ingest may be gone */
      }
      fs.closeSync(this.fd);
      this.fd = -1;
    }
    this.unlock();
  }
}
