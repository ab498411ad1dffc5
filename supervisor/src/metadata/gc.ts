/**
 * Garbage collection by references (containerd's gc/gc.go + metadata/gc.go):
 * a tricolor mark from the roots of every namespace, then a sweep of what was
 * not reached, all in one write transaction; files of blobs and ingests that
 * no namespace references any more are removed after it.
 *
 * Roots: images (target + label refs), containers (snapshot + label refs),
 * leases that have not expired (their resources), content and snapshots
 * labelled containerd.io/gc.root, ingests whose expiry is in the future.
 * Edges: containerd.io/gc.ref.content[.<name>|/<name>] → content,
 * containerd.io/gc.ref.snapshot.<snapshotter>[/<name>] → snapshot, an ingest →
 * its expected content, a snapshot → its parent (via a SnapshotCollector).
 */
import type { Logger } from '../daemon/logging';
import type { LocalStore } from '../content/local-store';
import type { Key, MetadataDB } from './db';
import type { BlobRecord, IngestRecord } from './content';
import { LABEL_GC_CONTENT_REF, LABEL_GC_EXPIRE, LABEL_GC_FLAT, LABEL_GC_ROOT, LABEL_GC_SNAP_REF } from './labels';

export type ResourceType = 'content' | 'snapshot' | 'ingest' | 'lease';

export interface Node {
  type: ResourceType;
  ns: string;
  /** digest, ingest ref, lease id, or "<snapshotter>/<key>". */
  key: string;
}

/**
 * What the snapshot layer plugs into the collector: its records live under
 * ["v1", ns, "snapshots", <snapshotter>, <key>].
 */
export interface SnapshotCollector {
  /** Snapshots of a namespace that are roots (gc.root label), as "<snapshotter>/<key>". */
  roots(ns: string): string[];
  /** Parent and label references of one snapshot. */
  references(ns: string, ssKey: string): Node[];
  /** Every snapshot of the namespace, as "<snapshotter>/<key>". */
  all(ns: string): string[];
  /** Removes the record (inside the GC transaction). */
  remove(ns: string, ssKey: string): void;
  /** After the transaction: remove the backends' unreferenced data. */
  cleanup?(): Promise<void>;
}

export interface GCStats {
  durationMs: number;
  removed: { content: number; ingests: number; leases: number; snapshots: number; blobFiles: number; ingestDirs: number };
}

/** The label references of an object (sendLabelRefs). */
export function labelRefs(ns: string, labels: Record<string, string> | undefined): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith(LABEL_GC_CONTENT_REF)) {
      const c = k.charAt(LABEL_GC_CONTENT_REF.length);
      if (k === LABEL_GC_CONTENT_REF || c === '.' || c === '/') out.push({ type: 'content', ns, key: v });
    } else if (k.startsWith(LABEL_GC_SNAP_REF)) {
      let ss = k.slice(LABEL_GC_SNAP_REF.length);
      const i = ss.indexOf('/');
      if (i >= 0) ss = ss.slice(0, i);
      out.push({ type: 'snapshot', ns, key: `${ss}/${v}` });
    }
  }
  return out;
}

const id = (n: Node) => `${n.type}\0${n.ns}\0${n.key}`;

export class GarbageCollector {
  private snapshots: SnapshotCollector[] = [];
  private running: Promise<GCStats> | undefined;
  private next: Promise<GCStats> | undefined;

  constructor(
    private readonly db: MetadataDB,
    private readonly local: LocalStore,
    private readonly log: Logger,
  ) {}

  registerSnapshots(c: SnapshotCollector): void {
    this.snapshots.push(c);
  }

  /**
   * Runs a collection. A caller arriving during a run waits for one full run
   * that starts after it (what it deleted must be collected); callers arriving
   * together share that next run.
   */
  async collect(): Promise<GCStats> {
    if (this.running) {
      this.next ??= this.running.then(
        () => this.startRun(),
        () => this.startRun(),
      );
      return this.next;
    }
    return this.startRun();
  }

  private async startRun(): Promise<GCStats> {
    this.next = undefined;
    this.running = this.run();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async run(): Promise<GCStats> {
    const start = Date.now();
    const removed = { content: 0, ingests: 0, leases: 0, snapshots: 0, blobFiles: 0, ingestDirs: 0 };
    const { liveBlobs, liveIngests } = this.db.tx(() => this.markAndSweep(removed));
    // Files that no namespace references any more.
    for (const d of this.local.listBlobs()) {
      if (!liveBlobs.has(d)) {
        this.local.deleteBlob(d);
        removed.blobFiles++;
      }
    }
    removed.ingestDirs = this.local.removeIngestsExcept(liveIngests).length;
    for (const s of this.snapshots) await s.cleanup?.();
    const stats = { durationMs: Date.now() - start, removed };
    this.log.debug('garbage collected', stats);
    return stats;
  }

  private markAndSweep(removed: GCStats['removed']): { liveBlobs: Set<string>; liveIngests: Set<string> } {
    const nowMs = Date.now();
    const marked = new Set<string>();
    const grey: Node[] = [];
    const mark = (n: Node): void => {
      const k = id(n);
      if (marked.has(k)) return;
      marked.add(k);
      grey.push(n);
    };
    const expiredLeases: Node[] = [];

    // Roots.
    for (const ns of this.db.namespaces()) {
      for (const [k, lease] of this.db.children<{ labels: Record<string, string> }>(['v1', ns, 'leases'])) {
        const leaseId = String(k[3]);
        const exp = lease.labels?.[LABEL_GC_EXPIRE];
        if (exp && !Number.isNaN(Date.parse(exp)) && Date.parse(exp) < nowMs) {
          expiredLeases.push({ type: 'lease', ns, key: leaseId });
          continue;
        }
        const flat = Boolean(lease.labels?.[LABEL_GC_FLAT]);
        for (const [rk] of this.db.children<number>(['v1', ns, 'leases', leaseId], 2)) {
          const type = String(rk[4]);
          const rid = String(rk[5]);
          const n: Node | undefined =
            type === 'content' ? { type: 'content', ns, key: rid } : type === 'ingests' ? { type: 'ingest', ns, key: rid } : type.startsWith('snapshots/') ? { type: 'snapshot', ns, key: `${type.slice(10)}/${rid}` } : undefined;
          if (!n) continue;
          if (flat) marked.add(id(n)); // flat: the resource itself, not what it references
          else mark(n);
        }
      }
      for (const [, img] of this.db.children<{ target: { digest: string }; labels: Record<string, string> }>(['v1', ns, 'image'])) {
        mark({ type: 'content', ns, key: img.target.digest });
        labelRefs(ns, img.labels).forEach(mark);
      }
      for (const [k, ing] of this.db.children<IngestRecord>(['v1', ns, 'content', 'ingests'])) {
        if (ing.expireAt !== undefined && ing.expireAt > nowMs) mark({ type: 'ingest', ns, key: String(k[4]) });
      }
      for (const [k, blob] of this.db.children<BlobRecord>(['v1', ns, 'content', 'blob'])) {
        if (blob.labels?.[LABEL_GC_ROOT] !== undefined) mark({ type: 'content', ns, key: String(k[4]) });
      }
      for (const [, c] of this.db.children<{ snapshotter: string; snapshotKey: string; labels: Record<string, string> }>(['v1', ns, 'containers'])) {
        if (c.snapshotter) mark({ type: 'snapshot', ns, key: `${c.snapshotter}/${c.snapshotKey}` });
        labelRefs(ns, c.labels).forEach(mark);
      }
      for (const s of this.snapshots) for (const key of s.roots(ns)) mark({ type: 'snapshot', ns, key });
    }

    // Mark: follow references until no grey node is left.
    while (grey.length) {
      const n = grey.pop()!;
      if (n.type === 'content') {
        const rec = this.db.get<BlobRecord>(['v1', n.ns, 'content', 'blob', n.key]);
        if (rec) labelRefs(n.ns, rec.labels).forEach(mark);
      } else if (n.type === 'ingest') {
        const rec = this.db.get<IngestRecord>(['v1', n.ns, 'content', 'ingests', n.key]);
        if (rec?.expected) mark({ type: 'content', ns: n.ns, key: rec.expected });
      } else if (n.type === 'snapshot') {
        for (const s of this.snapshots) s.references(n.ns, n.key).forEach(mark);
      }
    }

    // Sweep.
    const del = (k: Key) => this.db.remove(k);
    for (const l of expiredLeases) {
      this.db.removeTree(['v1', l.ns, 'leases', l.key]);
      removed.leases++;
    }
    const liveBlobs = new Set<string>();
    const liveIngests = new Set<string>();
    for (const ns of this.db.namespaces()) {
      for (const [k] of this.db.children<BlobRecord>(['v1', ns, 'content', 'blob'])) {
        const d = String(k[4]);
        if (marked.has(id({ type: 'content', ns, key: d }))) liveBlobs.add(d);
        else if (del(k)) removed.content++;
      }
      for (const [k, rec] of this.db.children<IngestRecord>(['v1', ns, 'content', 'ingests'])) {
        if (marked.has(id({ type: 'ingest', ns, key: String(k[4]) }))) liveIngests.add(rec.bref);
        else if (del(k)) removed.ingests++;
      }
      for (const s of this.snapshots) {
        for (const key of s.all(ns)) {
          if (!marked.has(id({ type: 'snapshot', ns, key }))) {
            s.remove(ns, key);
            removed.snapshots++;
          }
        }
      }
    }
    return { liveBlobs, liveIngests };
  }
}

/**
 * Runs the collector after deletions, coalescing bursts (containerd's gc
 * scheduler with deletion_threshold / schedule_delay); sync callers use
 * collect() directly.
 */
export class GCScheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly gc: GarbageCollector,
    private readonly delayMs: number,
    private readonly log: Logger,
  ) {}

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.gc.collect().catch((err) => this.log.error('garbage collection failed', { err }));
    }, this.delayMs);
    this.timer.unref();
  }

  async collect(): Promise<GCStats> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.gc.collect();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
