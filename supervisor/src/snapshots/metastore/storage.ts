/**
 * Snapshot bookkeeping shared by every backend (containerd core/snapshots/
 * storage/bolt.go): name↔id, parents, kind, labels, times, and the usage of
 * committed snapshots, as functions over a metastore Transaction.
 *
 * Keys: "s\0<name>" → SnapshotRecord; "c\0<parent>\0<child>" → 1 (children
 * index, so removing a parent with a child is refused without a scan).
 *
 * Error kinds are pinned: unknown → NotFound, duplicate → AlreadyExists,
 * remove with a child / wrong kind → FailedPrecondition, immutable or unknown
 * field path → InvalidArgument.
 */
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../../../proto/src/errdefs';
import { parseAll } from '../../filters/filters';
import { adaptSnapshot, type Info, type Kind, type SnapshotOpts, type Usage } from '../snapshotter';
import type { MetaStore, Transaction } from './metastore';

interface SnapshotRecord {
  id: string;
  kind: Kind;
  parent: string;
  labels: Record<string, string>;
  created: number;
  updated: number;
  size?: number;
  inodes?: number;
}

/** What a backend needs to build mounts: its id and the ids of its parents, nearest first. */
export interface Snapshot {
  id: string;
  kind: Kind;
  parentIds: string[];
}

const sKey = (name: string): string => `s\0${name}`;
const cPrefix = (parent: string): string => `c\0${parent}\0`;

function load(tx: Transaction, key: string): SnapshotRecord {
  if (key === '') throw new InvalidArgumentError('snapshot key must not be empty');
  if (key.includes('\0')) throw new InvalidArgumentError(`snapshot key ${JSON.stringify(key)} contains a NUL`);
  const r = tx.get<SnapshotRecord>(sKey(key));
  if (!r) throw new NotFoundError(`snapshot ${key} does not exist`);
  return r;
}

function toInfo(name: string, r: SnapshotRecord): Info {
  return {
    kind: r.kind,
    name,
    parent: r.parent,
    labels: { ...r.labels },
    created: new Date(r.created),
    updated: new Date(r.updated),
  };
}

function parentIds(tx: Transaction, parent: string): string[] {
  const ids: string[] = [];
  for (let p = parent; p !== ''; ) {
    const r = load(tx, p);
    ids.push(r.id);
    p = r.parent;
  }
  return ids;
}

/** Milliseconds, strictly increasing within this process, so created/updated order is stable. */
let lastNow = 0;
function now(): number {
  const t = Date.now();
  lastNow = t > lastNow ? t : lastNow;
  return lastNow;
}

/** Creates the record of a new active or view snapshot (storage.CreateSnapshot). */
export function createSnapshot(
  _store: MetaStore,
  tx: Transaction,
  kind: Kind,
  key: string,
  parent: string,
  opts: SnapshotOpts = {},
): Snapshot {
  if (kind !== 'active' && kind !== 'view') {
    throw new InvalidArgumentError(`snapshot type ${kind} invalid; only snapshots of type active or view can be created`);
  }
  if (key === '') throw new InvalidArgumentError('snapshot key must not be empty');
  if (tx.get(sKey(key))) throw new AlreadyExistsError(`snapshot ${key} already exists`);
  if (parent !== '') {
    const p = tx.get<SnapshotRecord>(sKey(parent));
    if (!p) throw new NotFoundError(`parent snapshot ${parent} does not exist`);
    if (p.kind !== 'committed') throw new InvalidArgumentError(`parent ${parent} is not a committed snapshot`);
  }
  const t = now();
  // The id counter commits with the snapshot (one fsync). An id whose
  // transaction rolled back is handed out again; only a crash between a
  // backend's rename and the commit can leave something under it, which the
  // backends move aside (renameInto).
  const seq = (tx.get<number>('~seq') ?? 0) + 1;
  tx.put('~seq', seq);
  const id = String(seq);
  tx.put(sKey(key), { id, kind, parent, labels: { ...(opts.labels ?? {}) }, created: t, updated: t } satisfies SnapshotRecord);
  if (parent !== '') tx.put(cPrefix(parent) + key, 1);
  return { id, kind, parentIds: parentIds(tx, parent) };
}

/** The id and parent chain of an active or view snapshot (storage.GetSnapshot). */
export function getSnapshot(tx: Transaction, key: string): Snapshot {
  const r = load(tx, key);
  if (r.kind !== 'active' && r.kind !== 'view') {
    throw new FailedPreconditionError(`requested snapshot ${key} not active or view`);
  }
  return { id: r.id, kind: r.kind, parentIds: parentIds(tx, r.parent) };
}

/** Id, Info and (for committed snapshots) recorded Usage (storage.GetInfo). */
export function getInfo(tx: Transaction, key: string): { id: string; info: Info; usage: Usage } {
  const r = load(tx, key);
  return { id: r.id, info: toInfo(key, r), usage: { size: r.size ?? 0, inodes: r.inodes ?? 0 } };
}

/** Updates labels (storage.UpdateInfo); see Snapshotter.update for the field paths. */
export function updateInfo(tx: Transaction, info: Info, ...fieldpaths: string[]): Info {
  const r = load(tx, info.name);
  let labels = { ...r.labels };
  if (fieldpaths.length === 0) {
    labels = { ...(info.labels ?? {}) };
  } else {
    for (const fp of fieldpaths) {
      if (fp === 'labels') {
        labels = { ...(info.labels ?? {}) };
      } else if (fp.startsWith('labels.')) {
        const k = fp.slice('labels.'.length);
        const v = info.labels?.[k];
        if (v === undefined) delete labels[k];
        else labels[k] = v;
      } else {
        throw new InvalidArgumentError(`cannot update ${JSON.stringify(fp)} field on snapshot ${info.name}`);
      }
    }
  }
  const updated: SnapshotRecord = { ...r, labels, updated: now() };
  tx.put(sKey(info.name), updated);
  return toInfo(info.name, updated);
}

/** Calls fn for each snapshot matching filters (storage.WalkInfo). fn sees a snapshot of the list. */
export async function walkInfo(
  tx: Transaction,
  fn: (info: Info) => void | Promise<void>,
  ...filters: string[]
): Promise<void> {
  const filter = parseAll(filters);
  const infos = tx.range<SnapshotRecord>('s\0').map(([k, r]) => toInfo(k.slice(2), r));
  for (const info of infos) {
    if (!filter.match(adaptSnapshot(info))) continue;
    await fn(info);
  }
}

/** Removes a snapshot's record (storage.Remove); FailedPrecondition while it has children. */
export function removeSnapshot(tx: Transaction, key: string): { id: string; kind: Kind } {
  const r = load(tx, key);
  if (tx.range(cPrefix(key)).length > 0) {
    throw new FailedPreconditionError(`cannot remove snapshot ${key}: snapshot has children`);
  }
  tx.remove(sKey(key));
  if (r.parent !== '') tx.remove(cPrefix(r.parent) + key);
  return { id: r.id, kind: r.kind };
}

/**
 * Turns the active snapshot `key` into the committed `name`, keeping its id
 * (storage.CommitActive). Labels come from opts; usage is recorded.
 */
export function commitActive(tx: Transaction, key: string, name: string, usage: Usage, opts: SnapshotOpts = {}): string {
  if (name === '') throw new InvalidArgumentError('snapshot name must not be empty');
  if (tx.get(sKey(name))) throw new AlreadyExistsError(`snapshot ${name} already exists`);
  const r = load(tx, key);
  if (r.kind !== 'active') throw new FailedPreconditionError(`snapshot ${key} is not active`);
  const t = now();
  tx.remove(sKey(key));
  tx.put(sKey(name), {
    id: r.id,
    kind: 'committed',
    parent: r.parent,
    labels: { ...(opts.labels ?? {}) },
    created: t,
    updated: t,
    size: usage.size,
    inodes: usage.inodes,
  } satisfies SnapshotRecord);
  if (r.parent !== '') {
    tx.remove(cPrefix(r.parent) + key);
    tx.put(cPrefix(r.parent) + name, 1);
  }
  return r.id;
}

/** id → name of every snapshot (storage.IDMap), for cleanup of orphaned directories. */
export function idMap(tx: Transaction): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, r] of tx.range<SnapshotRecord>('s\0')) m.set(r.id, k.slice(2));
  return m;
}
