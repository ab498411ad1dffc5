/**
 * The namespaced content store (containerd's metadata/content.go): blob and
 * ingest records per namespace over the shared LocalStore. A blob is visible
 * in a namespace only through its record; removing the record leaves the
 * file to the garbage collector. Writes made under a lease are added to it.
 */
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, isAlreadyExists } from '../../../proto/src/errdefs';
import { LocalStore, type LocalWriter } from '../content/local-store';
import { parseDigest } from '../content/digest';
import { adapt, parseAll } from '../filters/filters';
import { now, type Timestamp } from '../services/grpc-util';
import type { MetadataDB } from './db';
import { applyLabelPaths, validateLabels } from './labels';
import { addLeaseResource } from './leases';

export interface BlobRecord {
  size: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  labels: Record<string, string>;
}

export interface ContentInfo extends BlobRecord {
  digest: string;
}

export interface IngestRecord {
  /** The backend ref: "<ns>/<ref>", so namespaces never share an ingest. */
  bref: string;
  expected: string;
  /** Expiry in ms since the epoch for ingests made outside a lease (24 h, as containerd). */
  expireAt?: number;
}

export interface ContentStatus {
  ref: string;
  offset: number;
  total: number;
  expected: string;
  startedAt: Date;
  updatedAt: Date;
}

const blobKey = (ns: string, d: string) => ['v1', ns, 'content', 'blob', d];
const ingestKey = (ns: string, ref: string) => ['v1', ns, 'content', 'ingests', ref];

export class ContentStore {
  constructor(
    readonly db: MetadataDB,
    readonly local: LocalStore,
  ) {}

  info(ns: string, digest: string): ContentInfo {
    parseDigest(digest);
    const rec = this.db.get<BlobRecord>(blobKey(ns, digest));
    if (!rec) throw new NotFoundError(`content digest ${digest}: not found`);
    return { digest, ...rec };
  }

  update(ns: string, info: { digest: string; labels: Record<string, string> }, paths: string[]): ContentInfo {
    return this.db.tx(() => {
      const cur = this.info(ns, info.digest);
      const labels = validateLabels(info.labels);
      let next: Record<string, string>;
      if (paths.length === 0) next = labels;
      else {
        for (const p of paths) {
          if (p !== 'labels' && !p.startsWith('labels.')) {
            throw new InvalidArgumentError(`cannot update ${JSON.stringify(p)} field on content info ${info.digest}: invalid argument`);
          }
        }
        next = applyLabelPaths(cur.labels, labels, paths) ?? cur.labels;
      }
      const rec: BlobRecord = { size: cur.size, createdAt: cur.createdAt, updatedAt: now(), labels: next };
      this.db.put(blobKey(ns, info.digest), rec);
      return { digest: info.digest, ...rec };
    });
  }

  list(ns: string, filters: string[]): ContentInfo[] {
    const f = parseAll(filters);
    const out: ContentInfo[] = [];
    for (const [k, rec] of this.db.children<BlobRecord>(['v1', ns, 'content', 'blob'])) {
      const info = { digest: String(k[4]), ...rec };
      // containerd's content.AdaptInfo: digest and labels ("size" is accepted and never matches)
      if (f.match((fp) => (fp[0] === 'digest' ? [info.digest, true] : adapt({}, info.labels)(fp)))) out.push(info);
    }
    return out;
  }

  /** Removes the namespace's record; the file goes at the next garbage collection. */
  delete(ns: string, digest: string): void {
    parseDigest(digest);
    this.db.tx(() => {
      if (!this.db.remove(blobKey(ns, digest))) throw new NotFoundError(`content digest ${digest}: not found`);
      this.db.markDirty();
    });
  }

  read(ns: string, digest: string, offset: number, size: number) {
    this.info(ns, digest);
    return this.local.read(digest, offset, size);
  }

  status(ns: string, ref: string): ContentStatus {
    const rec = this.db.get<IngestRecord>(ingestKey(ns, ref));
    if (!rec) throw new NotFoundError(`ref ${ref}: not found`);
    const st = this.local.status(rec.bref);
    return { ref, offset: st.offset, total: st.total, expected: rec.expected, startedAt: st.startedAt, updatedAt: st.updatedAt };
  }

  listStatuses(ns: string, filters: string[]): ContentStatus[] {
    const f = parseAll(filters);
    const out: ContentStatus[] = [];
    for (const [k] of this.db.children<IngestRecord>(['v1', ns, 'content', 'ingests'])) {
      const ref = String(k[4]);
      try {
        const st = this.status(ns, ref);
        if (f.match((fp) => (fp[0] === 'ref' ? [ref, true] : ['', false]))) out.push(st); // adaptContentStatus
      } catch {
        /* record without data yet */
      }
    }
    return out;
  }

  abort(ns: string, ref: string): void {
    const rec = this.db.get<IngestRecord>(ingestKey(ns, ref));
    if (!rec) throw new NotFoundError(`ref ${ref}: not found`);
    this.local.abort(rec.bref);
    this.db.tx(() => this.db.remove(ingestKey(ns, ref)));
  }

  /**
   * Opens a writer for ref. When the expected blob already exists in this
   * namespace (or, shared policy, in the store with the same size) the
   * namespace gets the record and AlreadyExists is thrown, as containerd.
   */
  async writer(ns: string, ref: string, total: number, expected: string, lease?: string): Promise<NamespacedWriter> {
    if (!ref) throw new InvalidArgumentError('ref must not be empty: invalid argument');
    if (expected) parseDigest(expected);
    const bref = `${ns}/${ref}`;
    const exists = this.db.tx(() => {
      this.db.ensureNamespace(ns);
      if (expected) {
        const have = this.db.get<BlobRecord>(blobKey(ns, expected));
        if (have) {
          if (lease) addLeaseResource(this.db, ns, lease, { type: 'content', id: expected });
          return true;
        }
        if (this.local.exists(expected)) {
          const size = this.local.size(expected);
          if (total === 0 || total === size) {
            const t = now();
            this.db.put(blobKey(ns, expected), { size, createdAt: t, updatedAt: t, labels: {} } satisfies BlobRecord);
            if (lease) addLeaseResource(this.db, ns, lease, { type: 'content', id: expected });
            return true;
          }
        }
      }
      const rec: IngestRecord = { bref, expected: expected ?? '' };
      if (lease) addLeaseResource(this.db, ns, lease, { type: 'ingests', id: ref });
      else rec.expireAt = Date.now() + 24 * 3600 * 1000;
      this.db.put(ingestKey(ns, ref), rec);
      return false;
    });
    if (exists) throw new AlreadyExistsError(`content ${expected}: already exists`);
    const w = await this.local.writer(bref, total);
    return new NamespacedWriter(this, ns, ref, w, lease);
  }

  /** Records a committed blob in the namespace (and the lease), dropping the ingest record. */
  recordCommit(ns: string, ref: string, digest: string, size: number, labels: Record<string, string>, lease?: string): void {
    this.db.tx(() => {
      this.db.remove(ingestKey(ns, ref));
      if (this.db.get(blobKey(ns, digest))) throw new AlreadyExistsError(`content ${digest}: already exists`);
      const t = now();
      this.db.put(blobKey(ns, digest), { size, createdAt: t, updatedAt: t, labels: validateLabels(labels) } satisfies BlobRecord);
      if (lease) {
        // the lease now holds the blob instead of the ingest (containerd's removeIngestLease)
        this.db.remove(['v1', ns, 'leases', lease, 'ingests', ref]);
        addLeaseResource(this.db, ns, lease, { type: 'content', id: digest });
      }
    });
  }
}

export class NamespacedWriter {
  constructor(
    private readonly store: ContentStore,
    readonly ns: string,
    readonly ref: string,
    readonly w: LocalWriter,
    private readonly lease?: string,
  ) {}

  get offset(): number {
    return this.w.offset;
  }

  digest(): string {
    return this.w.digest();
  }

  status() {
    return this.w.status();
  }

  write(data: Buffer): number {
    return this.w.write(data);
  }

  truncate(size: number): void {
    this.w.truncate(size);
  }

  commit(size: number, expected: string, labels: Record<string, string>): string {
    let digest: string;
    try {
      digest = this.w.commit(size, expected, this.ref);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      digest = expected || this.w.digest();
    }
    this.store.recordCommit(this.ns, this.ref, digest, size || this.w.offset, labels, this.lease);
    return digest;
  }

  close(): void {
    this.w.close();
  }
}
