/**
 * Namespaced snapshots (containerd metadata/snapshot.go): one SnapshotStore
 * per snapshotter wraps the backend, which never sees a namespace. A
 * namespace's key maps to a backend key "<ns>/<seq>/<key>"; parents, labels
 * and times live in berthd's metadata store:
 *
 *   ["v1", ns, "snapshots", <snapshotter>, <key>]                        → SnapshotRecord
 *   ["v1", ns, "snapshots", <snapshotter>, <parent>, "children", <key>]  → 1
 *   ["snapshotters", <snapshotter>, "seq"]                                → end of the last reserved block of backend key numbers
 *
 * Only labels prefixed containerd.io/snapshot/ reach the backend. Prepare,
 * View and Commit add the snapshot to the caller's lease (the
 * containerd-lease header); Remove drops only the record, and the backend
 * snapshot goes at the next garbage collection (garbageCollect: every backend
 * snapshot no namespace refers to, leaves first), as containerd does.
 */
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, isFailedPrecondition, isAlreadyExists, isNotFound, NotFoundError } from '../../../proto/src/errdefs';
import type { Logger } from '../daemon/logging';
import { parseAll } from '../filters/filters';
import { adaptSnapshot, type Info, type Kind, type SnapshotOpts, type Snapshotter, type Usage, type WalkFunc, type Mount } from '../snapshots/snapshotter';
import type { Key, MetadataDB } from './db';
import { labelRefs, type Node } from './gc';
import { INHERITED_LABEL_PREFIX, LABEL_GC_ROOT, LABEL_SNAPSHOT_REF, validateLabels } from './labels';
import { addLeaseResource } from './leases';
import { RWLock, Mutex } from './locks';


export interface SnapshotRecord {
  /** The backend's key (or name, once committed). */
  bkey: string;
  parent: string;
  labels: Record<string, string>;
  /** Milliseconds since the epoch. */
  created: number;
  updated: number;
}

const q = JSON.stringify;

function inherited(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith(INHERITED_LABEL_PREFIX)));
}

/** Backend key numbers reserved on disk at a time (nextBackendKey). */
const SEQ_BLOCK = 1000;

/** Labels with an empty value are not kept (boltutil.WriteLabels). */
function dropEmpty(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''));
}

export class SnapshotStore {
  /** Creates and commits share it; the backend sweep of garbageCollect takes it alone. */
  private readonly lock = new RWLock();
  /** Commits of this snapshotter run one at a time (a bolt write transaction in containerd). */
  private readonly commits = new Mutex();
  /** Set when a record went away: the next garbage collection sweeps the backend. */
  private dirty = true;
  /** The reserved block of backend key numbers: [seqNext, seqEnd). */
  private seqNext = 0;
  private seqEnd = 0;

  constructor(
    readonly name: string,
    readonly backend: Snapshotter,
    private readonly db: MetadataDB,
    private readonly log: Logger,
  ) {}

  private prefix(ns: string): Key {
    return ['v1', ns, 'snapshots', this.name];
  }

  private recKey(ns: string, key: string): Key {
    return [...this.prefix(ns), key];
  }

  private childKey(ns: string, parent: string, child: string): Key {
    return [...this.prefix(ns), parent, 'children', child];
  }

  private leaseKey(ns: string, lease: string, key: string): Key {
    return ['v1', ns, 'leases', lease, `snapshots/${this.name}`, key];
  }

  private record(ns: string, key: string): SnapshotRecord {
    const r = key ? this.db.get<SnapshotRecord>(this.recKey(ns, key)) : undefined;
    if (!r) throw new NotFoundError(`snapshot ${key} does not exist: not found`);
    return r;
  }

  /**
   * A backend key, unique for the life of the store (the sequence survives
   * namespace deletion). Numbers come from a block reserved on disk
   * SEQ_BLOCK at a time, so a create costs no write transaction of its own
   * (containerd takes the number in the create's one bolt transaction; ours
   * cannot span the backend's asynchronous work), and a number is never used
   * twice, even after a crash: the next start reserves past the whole block.
   */
  private nextBackendKey(ns: string, key: string): string {
    if (this.seqNext >= this.seqEnd) {
      this.db.tx(() => {
        const last = this.db.get<number>(['snapshotters', this.name, 'seq']) ?? 0;
        this.db.put(['snapshotters', this.name, 'seq'], last + SEQ_BLOCK);
        this.seqNext = last + 1;
        this.seqEnd = last + SEQ_BLOCK + 1;
      });
    }
    return `${ns}/${this.seqNext++}/${key}`;
  }

  private hasChildren(ns: string, key: string): boolean {
    return !this.db.children([...this.prefix(ns), key, 'children']).next().done;
  }

  /** The backend's Info with the namespace's name, parent, times and labels over it (overlayInfo). */
  private overlay(info: Info, name: string, r: SnapshotRecord): Info {
    return { kind: info.kind, name, parent: r.parent, labels: { ...info.labels, ...r.labels }, created: new Date(r.created), updated: new Date(r.updated) };
  }

  /** The Snapshotter interface scoped to a namespace (and a lease, for what it creates). */
  view(ns: string, lease?: string): Snapshotter {
    return new NamespacedSnapshotter(this, ns, lease);
  }

  async stat(ns: string, key: string): Promise<Info> {
    const r = this.record(ns, key);
    return this.overlay(await this.backend.stat(r.bkey), key, r);
  }

  async usage(ns: string, key: string): Promise<Usage> {
    return this.backend.usage(this.record(ns, key).bkey);
  }

  async mounts(ns: string, key: string): Promise<Mount[]> {
    return this.backend.mounts(this.record(ns, key).bkey);
  }

  /** Updates labels: no fieldpaths replaces them, "labels" too, "labels.<k>" sets (or, empty, drops) one. */
  async update(ns: string, info: Info, ...fieldpaths: string[]): Promise<Info> {
    if (!info.name) throw new InvalidArgumentError('snapshot name must not be empty: invalid argument');
    return this.lock.read(async () => {
      const r = this.record(ns, info.name);
      let labels = { ...r.labels };
      if (fieldpaths.length === 0) labels = { ...(info.labels ?? {}) };
      for (const p of fieldpaths) {
        if (p.startsWith('labels.')) labels[p.slice('labels.'.length)] = info.labels?.[p.slice('labels.'.length)] ?? '';
        else if (p === 'labels') labels = { ...(info.labels ?? {}) };
        else throw new InvalidArgumentError(`cannot update ${q(p)} field on snapshot ${q(info.name)}: invalid argument`);
      }
      labels = validateLabels(dropEmpty(labels));
      const binfo = await this.backend.update({ kind: 'active', name: r.bkey, parent: '', labels: inherited(labels), created: new Date(r.created), updated: new Date(r.updated) }, ...fieldpaths);
      const next: SnapshotRecord = { ...r, labels, updated: Date.now() };
      this.db.tx(() => {
        if (this.db.get<SnapshotRecord>(this.recKey(ns, info.name))?.bkey !== r.bkey) throw new NotFoundError(`snapshot ${info.name} does not exist: not found`);
        this.db.put(this.recKey(ns, info.name), next);
      });
      return this.overlay(binfo, info.name, next);
    });
  }

  /** Prepare (kind active) or View (kind view) of `key` on the committed `parent` (createSnapshot). */
  async create(ns: string, lease: string | undefined, kind: Kind, key: string, parent: string, opts: SnapshotOpts = {}): Promise<Mount[]> {
    if (!key) throw new InvalidArgumentError('snapshot key must not be empty: invalid argument');
    const labels = validateLabels(dropEmpty(opts.labels ?? {}));
    const target = labels[LABEL_SNAPSHOT_REF];
    return this.lock.read(async () => {
      // Checked here without a write (they are checked again in the transaction that records it)
      let bparent = '';
      if (target && this.db.get(this.recKey(ns, target))) throw new AlreadyExistsError(`target snapshot ${q(target)}: already exists`);
      if (this.db.get(this.recKey(ns, key))) throw new AlreadyExistsError(`snapshot ${q(key)}: already exists`);
      if (parent) {
        const p = this.db.get<SnapshotRecord>(this.recKey(ns, parent));
        if (!p) throw new NotFoundError(`parent snapshot ${parent} does not exist: not found`);
        bparent = p.bkey;
      }
      const bkey = this.nextBackendKey(ns, key);
      const bopts = { labels: inherited(labels) };
      let mounts: Mount[];
      try {
        mounts = kind === 'view' ? await this.backend.view(bkey, bparent, bopts) : await this.backend.prepare(bkey, bparent, bopts);
      } catch (err) {
        // The backend key is new: a backend that says it exists is confused, not the caller.
        if (isAlreadyExists(err)) throw new Error(`unexpected error from snapshotter: ${(err as Error).message}`);
        throw err;
      }
      const t = Date.now();
      try {
        this.db.tx(() => {
          this.db.ensureNamespace(ns);
          if (lease) addLeaseResource(this.db, ns, lease, { type: `snapshots/${this.name}`, id: key });
          if (this.db.get(this.recKey(ns, key))) throw new AlreadyExistsError(`snapshot ${q(key)}: already exists`);
          if (parent) {
            const p = this.db.get<SnapshotRecord>(this.recKey(ns, parent));
            if (!p) throw new NotFoundError(`parent snapshot ${parent} does not exist: not found`);
            if (p.bkey !== bparent) throw new InvalidArgumentError(`mismatched parent ${parent} from target ${target ?? ''}: invalid argument`);
            this.db.put(this.childKey(ns, parent, key), 1);
          }
          this.db.put(this.recKey(ns, key), { bkey, parent, labels, created: t, updated: t } satisfies SnapshotRecord);
        });
      } catch (err) {
        await this.backend.remove(bkey).catch((e: unknown) => this.log.error('failed to cleanup unreferenced snapshot', { snapshotter: this.name, key: bkey, err: String(e) }));
        throw err;
      }
      return mounts;
    });
  }

  /** Commits the active `key` as `name`; the record moves, the backend commits under a new backend key. */
  async commit(ns: string, lease: string | undefined, name: string, key: string, opts: SnapshotOpts = {}): Promise<void> {
    if (!name) throw new InvalidArgumentError('snapshot name must not be empty: invalid argument');
    const labels = validateLabels(dropEmpty(opts.labels ?? {}));
    await this.lock.read(() =>
      this.commits.run(async () => {
        // Checked here without a write (again in the transaction that records it)
        if (this.db.get(this.recKey(ns, name))) throw new AlreadyExistsError(`snapshot ${q(name)}: already exists`);
        const bkey = this.record(ns, key).bkey;
        if (lease && !this.db.get(['v1', ns, 'leases', lease])) throw new NotFoundError(`lease ${q(lease)}: not found`);
        const nameKey = this.nextBackendKey(ns, name);
        await this.backend.commit(nameKey, bkey, { labels: inherited(labels) });
        const t = Date.now();
        try {
          this.db.tx(() => {
            const o = this.db.get<SnapshotRecord>(this.recKey(ns, key));
            if (!o || o.bkey !== bkey) throw new NotFoundError(`snapshot ${key} does not exist: not found`);
            if (this.db.get(this.recKey(ns, name))) throw new AlreadyExistsError(`snapshot ${q(name)}: already exists`);
            if (lease) {
              addLeaseResource(this.db, ns, lease, { type: `snapshots/${this.name}`, id: name });
              this.db.remove(this.leaseKey(ns, lease, key));
            }
            this.db.put(this.recKey(ns, name), { bkey: nameKey, parent: o.parent, labels, created: t, updated: t } satisfies SnapshotRecord);
            if (o.parent) {
              this.db.remove(this.childKey(ns, o.parent, key));
              this.db.put(this.childKey(ns, o.parent, name), 1);
            }
            this.db.remove(this.recKey(ns, key));
          });
        } catch (err) {
          this.dirty = true;
          this.log.error('uncommittable snapshot: transaction failed after commit, snapshot should be removed', { snapshotter: this.name, key, bname: nameKey, err: String(err) });
          throw err;
        }
      }),
    );
  }

  /** Removes the record; FailedPrecondition while a child exists. The backend snapshot goes at the next GC. */
  remove(ns: string, lease: string | undefined, key: string): void {
    this.db.tx(() => {
      const r = this.record(ns, key);
      if (this.hasChildren(ns, key)) throw new FailedPreconditionError('cannot remove snapshot with child: failed precondition');
      if (r.parent) this.db.remove(this.childKey(ns, r.parent, key));
      this.db.remove(this.recKey(ns, key));
      if (lease) this.db.remove(this.leaseKey(ns, lease, key));
      this.db.markDirty();
    });
    this.dirty = true;
  }

  async walk(ns: string, fn: WalkFunc, ...filters: string[]): Promise<void> {
    const filter = parseAll(filters);
    for (const [k, r] of [...this.db.children<SnapshotRecord>(this.prefix(ns))]) {
      let info: Info;
      try {
        info = this.overlay(await this.backend.stat(r.bkey), String(k[4]), r);
      } catch (err) {
        if (isNotFound(err)) continue; // removed meanwhile
        throw err;
      }
      if (filter.match(adaptSnapshot(info))) await fn(info);
    }
  }

  // ---- garbage collection (metadata/gc.go: the snapshot resources) ----

  /** Keys of the namespace's snapshots labelled containerd.io/gc.root. */
  roots(ns: string): string[] {
    const out: string[] = [];
    for (const [k, r] of this.db.children<SnapshotRecord>(this.prefix(ns))) if (r.labels?.[LABEL_GC_ROOT] !== undefined) out.push(String(k[4]));
    return out;
  }

  /** What a snapshot keeps alive: its parent and its gc.ref labels. */
  references(ns: string, key: string): Node[] {
    const r = this.db.get<SnapshotRecord>(this.recKey(ns, key));
    if (!r) return [];
    const out = labelRefs(ns, r.labels);
    if (r.parent) out.push({ type: 'snapshot', ns, key: `${this.name}/${r.parent}` });
    return out;
  }

  keys(ns: string): string[] {
    return [...this.db.children<SnapshotRecord>(this.prefix(ns))].map(([k]) => String(k[4]));
  }

  /** Drops a record inside the collector's transaction. */
  removeRecord(ns: string, key: string): void {
    const r = this.db.get<SnapshotRecord>(this.recKey(ns, key));
    if (!r) return;
    if (r.parent) this.db.remove(this.childKey(ns, r.parent, key));
    this.db.removeTree(this.recKey(ns, key));
    this.dirty = true;
  }

  /**
   * Removes every backend snapshot that no namespace's record names, children
   * before parents (garbageCollect + pruneBranch), then lets the backend clean
   * up what it knows of (snapshots.Cleaner), all while no create or commit
   * runs. Skipped when nothing went away since the last run, unless forced.
   */
  async garbageCollect(force = false): Promise<number> {
    if (!this.dirty && !force) return 0;
    let removed = 0;
    await this.lock.write(async () => {
      this.dirty = false;
      const seen = new Set<string>();
      for (const ns of this.db.namespaces()) for (const [, r] of this.db.children<SnapshotRecord>(this.prefix(ns))) seen.add(r.bkey);
      interface TreeNode { name: string; remove: boolean; children: TreeNode[] }
      const nodes = new Map<string, TreeNode>();
      const node = (name: string): TreeNode => {
        let n = nodes.get(name);
        if (!n) nodes.set(name, (n = { name, remove: false, children: [] }));
        return n;
      };
      const roots: TreeNode[] = [];
      await this.backend.walk((info) => {
        const n = node(info.name);
        n.remove = !seen.has(info.name);
        if (info.parent) node(info.parent).children.push(n);
        else roots.push(n);
      });
      const prune = async (n: TreeNode): Promise<void> => {
        for (const c of n.children) await prune(c);
        if (!n.remove) return;
        try {
          await this.backend.remove(n.name);
          removed++;
          this.log.debug('removed snapshot', { snapshotter: this.name, key: n.name });
        } catch (err) {
          if (!isFailedPrecondition(err)) throw err;
          this.log.warn('failed to remove snapshot', { snapshotter: this.name, key: n.name, err: String(err) });
        }
      };
      for (const r of roots) await prune(r);
      // Inside the lock: a backend's cleanup removes directories no record
      // names, which includes those of a create in flight.
      await this.backend.cleanup?.();
    });
    return removed;
  }
}

/** A SnapshotStore seen from one namespace (and lease): the Snapshotter interface, as containerd's client sees it. */
export class NamespacedSnapshotter implements Snapshotter {
  constructor(
    private readonly s: SnapshotStore,
    readonly namespace: string,
    readonly lease?: string,
  ) {}

  stat(key: string): Promise<Info> {
    return this.s.stat(this.namespace, key);
  }
  update(info: Info, ...fieldpaths: string[]): Promise<Info> {
    return this.s.update(this.namespace, info, ...fieldpaths);
  }
  usage(key: string): Promise<Usage> {
    return this.s.usage(this.namespace, key);
  }
  mounts(key: string): Promise<Mount[]> {
    return this.s.mounts(this.namespace, key);
  }
  prepare(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.s.create(this.namespace, this.lease, 'active', key, parent, opts);
  }
  view(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.s.create(this.namespace, this.lease, 'view', key, parent, opts);
  }
  commit(name: string, key: string, opts?: SnapshotOpts): Promise<void> {
    return this.s.commit(this.namespace, this.lease, name, key, opts);
  }
  async remove(key: string): Promise<void> {
    this.s.remove(this.namespace, this.lease, key);
  }
  walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    return this.s.walk(this.namespace, fn, ...filters);
  }
  /** Removes backend snapshots no record refers to, and the backend's own leftovers. */
  async cleanup(): Promise<void> {
    await this.s.garbageCollect(true);
  }
  /** The store outlives its views. */
  async close(): Promise<void> {}
}
