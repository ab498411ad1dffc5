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
  /** Bumped by every mutation that removes something, so the GC scheduler knows to run. */
  deletions = 0;
  private deleteListeners: Array<() => void> = [];

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // noMetaSync: one flush per commit instead of two. LMDB keeps its integrity
    // (atomic, consistent); only an operating-system crash may undo the last
    // commit; a crash of berthd loses nothing.
    this.db = open<unknown, Key>({ path: path.join(dir, 'meta.lmdb'), encoding: 'msgpack', compression: false, noMetaSync: true });
  }

  /** Runs fn in one write transaction; what fn throws aborts it. */
  tx<T>(fn: () => T): T {
    let out: T | undefined;
    let failure: unknown;
    this.db.transactionSync(() => {
      try {
        out = fn();
      } catch (err) {
        failure = err;
        throw err;
      }
    });
    if (failure) throw failure;
    return out as T;
  }

  get<T>(key: Key): T | undefined {
    return this.db.get(key) as T | undefined;
  }

  put(key: Key, value: unknown): void {
    this.db.putSync(key, value);
  }

  remove(key: Key): boolean {
    const had = this.db.removeSync(key);
    if (had) this.noteDeletion();
    return had;
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
    if (keys.length) this.noteDeletion();
  }

  noteDeletion(): void {
    this.deletions++;
    for (const l of this.deleteListeners) l();
  }

  onDeletion(fn: () => void): void {
    this.deleteListeners.push(fn);
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
