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
  /** The whole collection, ms. */
  durationMs: number;
  /**
   * Its metadata part (mark and sweep in one transaction), ms: what the
   * scheduler paces by, as containerd's (GCStats.Elapsed is MetaD; the
   * backends' and the content store's clean-ups come after it).
   */
  metaMs: number;
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

  constructor(
    private readonly db: MetadataDB,
    private readonly local: LocalStore,
    private readonly log: Logger,
  ) {}

  registerSnapshots(c: SnapshotCollector): void {
    this.snapshots.push(c);
  }

  /**
   * Runs one collection. Runs never overlap: the GCScheduler, their one
   * caller in the daemon, starts the next only after the last has ended (and
   * gives callers who ask during a run the one after it).
   */
  async collect(): Promise<GCStats> {
    const start = Date.now();
    const removed = { content: 0, ingests: 0, leases: 0, snapshots: 0, blobFiles: 0, ingestDirs: 0 };
    const t0 = process.hrtime.bigint();
    const { liveBlobs, liveIngests } = this.db.tx(() => {
      this.db.dirty = 0; // what was deleted before this transaction is collected by it
      return this.markAndSweep(removed);
    }, false);
    const metaMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // Files that no namespace references any more.
    for (const d of this.local.listBlobs()) {
      if (!liveBlobs.has(d)) {
        this.local.deleteBlob(d);
        removed.blobFiles++;
      }
    }
    removed.ingestDirs = this.local.removeIngestsExcept(liveIngests).length;
    for (const s of this.snapshots) await s.cleanup?.();
    const stats = { durationMs: Date.now() - start, metaMs, removed };
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

export interface GCSchedulerConfig {
  /** pause_threshold: the largest share of time spent collecting, 0–0.5 (0.02). */
  pauseThreshold: number;
  /** deletion_threshold: collect at once after this many deletions, 0 = off (0). */
  deletionThreshold: number;
  /** mutation_threshold: collect at the next chance after this many write transactions, 0 = off (100). */
  mutationThreshold: number;
  /** schedule_delay: from a trigger to its collection, ms (0). */
  scheduleDelayMs: number;
  /** startup_delay: the first collection after start, ms; 0 = none (100). */
  startupDelayMs: number;
}

export const DEFAULT_GC_SCHEDULER: GCSchedulerConfig = { pauseThreshold: 0.02, deletionThreshold: 0, mutationThreshold: 100, scheduleDelayMs: 0, startupDelayMs: 100 };

interface Waiter {
  resolve(stats: GCStats): void;
  reject(err: Error): void;
}

/**
 * When to collect: containerd's gc/scheduler (the io.containerd.gc.v1.scheduler
 * plugin), on the metadata store's mutation callbacks.
 *
 * - After a write transaction that leaves deletions uncollected: at once
 *   (after schedule_delay) when no collection is scheduled; otherwise at the
 *   scheduled one, unless deletion_threshold deletions have piled up.
 * - After each collection the next is scheduled an interval later that keeps
 *   collections under pause_threshold of the time (average duration of their
 *   metadata part ÷ threshold − that average); when it comes and nothing was deleted (nor
 *   mutation_threshold transactions made, nor a collection asked for) it is
 *   skipped and scheduled again.
 * - A sync delete (scheduleAndWait) asks for a collection after
 *   schedule_delay and waits for its stats. Unlike containerd, one asked for
 *   while a collection runs waits for the next collection, not that one: the
 *   running one may have swept before the caller's deletion.
 */
export class GCScheduler {
  private readonly cfg: GCSchedulerConfig;
  private timer: NodeJS.Timeout | undefined;
  /** When the scheduled collection runs (Date.now() ms), if one is. */
  private next: number | undefined;
  private last: number | undefined;
  private interval = 1000;
  private gcTime = 0;
  private collections = 0;
  private triggered = false;
  private deletions = 0;
  private mutations = 0;
  /** The collection in progress (which close() waits for), if one runs. */
  private current: Promise<GCStats> | undefined;
  private closed = false;
  /** Waiting for the next collection to start; `late`: asked during a run, for the one after it. */
  private waiters: Waiter[] = [];
  private late: Waiter[] = [];

  constructor(
    private readonly gc: Pick<GarbageCollector, 'collect'>,
    db: Pick<MetadataDB, 'onMutation'>,
    cfg: Partial<GCSchedulerConfig>,
    private readonly log: Logger,
  ) {
    const c = { ...DEFAULT_GC_SCHEDULER, ...cfg };
    // containerd's bounds, applied the same silent way
    this.cfg = {
      pauseThreshold: Math.min(Math.max(c.pauseThreshold, 0), 0.5),
      deletionThreshold: c.deletionThreshold,
      mutationThreshold: Math.max(c.mutationThreshold, 0),
      scheduleDelayMs: Math.max(c.scheduleDelayMs, 0),
      startupDelayMs: Math.max(c.startupDelayMs, 0),
    };
    if (this.cfg.startupDelayMs > 0) this.schedule(this.cfg.startupDelayMs);
    db.onMutation((dirty) => this.event(true, dirty));
  }

  /** The effective settings (containerd exports them as the plugin's metadata). */
  get config(): Readonly<GCSchedulerConfig> {
    return this.cfg;
  }

  /** Asks for a collection and resolves with its stats (containerd's ScheduleAndWait). */
  scheduleAndWait(): Promise<GCStats> {
    if (this.closed) return Promise.reject(new Error('garbage collector stopped'));
    return new Promise<GCStats>((resolve, reject) => {
      if (this.current) {
        this.late.push({ resolve, reject });
        return;
      }
      this.waiters.push({ resolve, reject });
      this.event(false, false);
    });
  }

  /** Stops scheduling, fails the waiters and waits for a collection in progress (the store closes after this). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of [...this.waiters, ...this.late]) w.reject(new Error('garbage collector stopped'));
    this.waiters = [];
    this.late = [];
    await this.current?.catch(() => undefined);
  }

  private event(mutation: boolean, dirty: boolean): void {
    if (this.closed) return;
    if (dirty) this.deletions++;
    if (mutation) this.mutations++;
    else this.triggered = true;
    const { deletionThreshold: dt, mutationThreshold: mt, scheduleDelayMs } = this.cfg;
    if (
      this.triggered ||
      (dt > 0 && this.deletions >= dt) ||
      (this.next === undefined && ((dt === 0 && this.deletions > 0) || (mt > 0 && this.mutations >= mt)))
    ) {
      if (this.next === undefined || this.next > Date.now() + scheduleDelayMs) this.schedule(scheduleDelayMs);
    }
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.next = Date.now() + ms;
    this.timer = setTimeout(() => void this.fire(), ms);
    this.timer.unref(); // pending collections do not keep the daemon up
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    // What comes in during the run counts for the next one (containerd's loop
    // reads its events after the collection; those older than it are dropped).
    if (this.current) return;
    const { mutationThreshold: mt } = this.cfg;
    if (!this.triggered && this.last !== undefined && this.deletions === 0 && (mt === 0 || this.mutations < mt)) {
      this.schedule(this.interval);
      return;
    }
    this.next = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    this.triggered = false;
    this.deletions = 0;
    this.mutations = 0;
    let stats: GCStats | undefined;
    let failure: Error | undefined;
    try {
      this.current = this.gc.collect();
      stats = await this.current;
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      this.log.error('garbage collection failed', { err: failure.message });
    } finally {
      this.current = undefined;
    }
    // its waiters get what it did, even when the scheduler stopped meanwhile
    for (const w of waiters) (stats ? w.resolve(stats) : w.reject(failure!));
    if (this.closed) return;
    const end = Date.now();
    if (stats) {
      this.gcTime += stats.metaMs;
      this.collections++;
      if (this.cfg.pauseThreshold > 0) {
        const avg = this.gcTime / this.collections;
        this.interval = avg / this.cfg.pauseThreshold - avg;
      }
      this.schedule(this.interval);
    } else {
      // containerd: the same wait again plus a second
      this.schedule((this.last === undefined ? this.interval : end - this.last) + 1000);
    }
    this.last = end;
    if (this.late.length) {
      this.waiters.push(...this.late);
      this.late = [];
      this.event(false, false);
    }
  }
}
