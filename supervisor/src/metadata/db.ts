/**
 * The metadata store: one LMDB environment per root (<root>/io.containerd.metadata.v1.lmdb/meta.lmdb),
 * with keys laid out like containerd's bolt buckets (metadata/buckets.go):
 *
 *   ["namespaces", <ns>]                          → {labels}
 *   ["v1", <ns>, "image", <name>]                 → ImageRecord
 *   ["v1", <ns>, "containers", <id>]              → ContainerRecord
 *   ["v1", <ns>, "content", "blob", <digest>]     → BlobRecord
 *   ["v1", <ns>, "content", "ingests", <ref>]     → IngestRecord
 *   ["v1", <ns>, "leases", <id>]                  → LeaseRecord
 *   ["v1", <ns>, "leases", <id>, <type>, <rid>]   → 1   (type: content | ingests | snapshots/<snapshotter>)
 *   ["v1", <ns>, "snapshots", <snapshotter>, <key>] → the snapshot layer's record
 *
 * Every mutation runs inside tx(), a synchronous LMDB write transaction that
 * is durable when it returns. Namespaces are listed from their own keys, so a
 * listing never walks the objects.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type RootDatabase } from 'lmdb';

export type Key = (string | number)[];

export class MetadataDB {
  readonly db: RootDatabase<unknown, Key>;
  /**
   * Deletions since the last collection (containerd's DB.dirty): the stores
   * mark one when they remove an image, container, blob, snapshot, lease or
   * lease resource; the collector resets it in its transaction.
   */
  dirty = 0;
  private mutationCallbacks: Array<(dirty: boolean) => void> = [];
  private depth = 0;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // noMetaSync: one flush per commit instead of two. LMDB keeps its integrity
    // (atomic, consistent); only an operating-system crash may undo the last
    // commit; a crash of berthd loses nothing.
    this.db = open<unknown, Key>({ path: path.join(dir, 'meta.lmdb'), encoding: 'msgpack', compression: false, noMetaSync: true });
  }

  /**
   * Runs fn in one write transaction; what fn throws aborts it. Once the
   * outermost transaction has committed, the mutation callbacks hear of it,
   * told whether deletions wait for a collection (containerd's DB.Update);
   * the collector's own transaction does not tell them (notify false).
   */
  tx<T>(fn: () => T, notify = true): T {
    let out: T | undefined;
    let failure: unknown;
    this.depth++;
    try {
      this.db.transactionSync(() => {
        try {
          out = fn();
        } catch (err) {
          failure = err;
          throw err;
        }
      });
    } finally {
      this.depth--;
    }
    if (failure) throw failure;
    if (notify && this.depth === 0) for (const cb of this.mutationCallbacks) cb(this.dirty > 0);
    return out as T;
  }

  /** Notes a deletion that a collection should follow (inside the deleting transaction). */
  markDirty(): void {
    this.dirty++;
  }

  /** Calls fn after each committed write transaction with whether deletions wait (RegisterMutationCallback). */
  onMutation(fn: (dirty: boolean) => void): void {
    this.mutationCallbacks.push(fn);
  }

  get<T>(key: Key): T | undefined {
    return this.db.get(key) as T | undefined;
  }

  put(key: Key, value: unknown): void {
    this.db.putSync(key, value);
  }

  remove(key: Key): boolean {
    return this.db.removeSync(key);
  }

  /** Entries whose key is prefix + exactly `extra` more parts (1 by default). */
  *children<T>(prefix: Key, extra = 1): Generator<[Key, T]> {
    for (const { key, value } of this.db.getRange({ start: [...prefix, ''], end: [...prefix, '\uffff'] })) {
      const k = key as Key;
      if (k.length !== prefix.length + extra) continue;
      if (!prefix.every((p, i) => k[i] === p)) continue;
      yield [k, value as T];
    }
  }

  /** Removes every key under a prefix (the prefix key itself included). */
  removeTree(prefix: Key): void {
    const keys: Key[] = [];
    if (this.db.get(prefix) !== undefined) keys.push(prefix);
    for (const { key } of this.db.getRange({ start: [...prefix, ''], end: [...prefix, '\uffff'] })) {
      const k = key as Key;
      if (k.length > prefix.length && prefix.every((p, i) => k[i] === p)) keys.push(k);
    }
    for (const k of keys) this.db.removeSync(k);
  }

  /** Namespaces that exist. */
  namespaces(): string[] {
    return [...this.children<unknown>(['namespaces'])].map(([k]) => String(k[1]));
  }

  /** Creates the namespace record when missing (objects create their namespace, as containerd). */
  ensureNamespace(ns: string): void {
    if (this.db.get(['namespaces', ns]) === undefined) this.db.putSync(['namespaces', ns], { labels: {} });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
