/**
 * The metadata store of one snapshotter (containerd core/snapshots/storage/
 * metastore.go): one LMDB environment per snapshotter root (<root>/metadata.db).
 *
 * Keys are strings whose "\0" separates parts (lmdb stores them as arrays, so
 * a prefix range is a sub-tree).
 *
 * Transactions: `withTransaction(true, fn)` serialises writers with a mutex and
 * buffers fn's writes; they reach LMDB in one synchronous LMDB transaction only
 * when fn resolves, and vanish when it throws. A backend can therefore do its
 * asynchronous filesystem work (mkdir, rename, btrfs, dmsetup) inside the
 * transaction and roll everything back on error, as containerd's bolt
 * transactions allow. Readers see committed data only; a writer sees its own
 * buffered writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { FailedPreconditionError } from '../../../../proto/src/errdefs';

type Op = { key: string; value: unknown } | { key: string; remove: true };

/** Our string key → lmdb key: "\0"-separated parts become an array key (ordered part by part). */
const dbKey = (k: string): string | string[] => (k.includes('\0') ? k.split('\0') : k);

/** The view of the store given to a transaction's function. */
export class Transaction {
  private readonly pending = new Map<string, Op>();
  private done = false;

  constructor(
    private readonly db: Database,
    readonly writable: boolean,
  ) {}

  get<T>(key: string): T | undefined {
    this.check();
    const op = this.pending.get(key);
    if (op) return 'remove' in op ? undefined : (op.value as T);
    return this.db.get(dbKey(key)) as T | undefined;
  }

  put(key: string, value: unknown): void {
    this.checkWritable();
    this.pending.set(key, { key, value });
  }

  remove(key: string): void {
    this.checkWritable();
    this.pending.set(key, { key, remove: true });
  }

  /** Every [key, value] whose key starts with prefix, in key order, buffered writes included. */
  range<T>(prefix: string): Array<[string, T]> {
    this.check();
    const out = new Map<string, T>();
    // lmdb's key encoding turns "\0" into array separators: keys come back as arrays.
    const parts = prefix.split('\0');
    const end = [...parts.slice(0, -1), parts[parts.length - 1] + '\uffff'];
    for (const { key, value } of this.db.getRange({ start: parts, end })) {
      const k = Array.isArray(key) ? key.join('\0') : String(key);
      if (k.startsWith(prefix)) out.set(k, value as T);
    }
    for (const [key, op] of this.pending) {
      if (!key.startsWith(prefix)) continue;
      if ('remove' in op) out.delete(key);
      else out.set(key, op.value as T);
    }
    return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** @internal the buffered writes, applied by MetaStore on commit. */
  finish(): Op[] {
    this.done = true;
    return [...this.pending.values()];
  }

  private check(): void {
    if (this.done) throw new FailedPreconditionError('transaction already finished');
  }

  private checkWritable(): void {
    this.check();
    if (!this.writable) throw new FailedPreconditionError('write in a read-only transaction');
  }
}

export class MetaStore {
  private readonly root: RootDatabase;
  private writer: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(readonly dbPath: string) {
    this.root = open({ path: dbPath, compression: false });
  }

  /** Opens (creating) the store file; its directory must exist. */
  static open(dbPath: string): MetaStore {
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    return new MetaStore(dbPath);
  }

  /**
   * Runs fn in a transaction. Writable transactions run one at a time; their
   * writes are committed atomically (and fsync'ed by LMDB) when fn resolves.
   */
  async withTransaction<T>(writable: boolean, fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    this.checkOpen();
    if (!writable) {
      const tx = new Transaction(this.root, false);
      try {
        return await fn(tx);
      } finally {
        tx.finish();
      }
    }
    const prev = this.writer;
    let release!: () => void;
    this.writer = new Promise((resolve) => (release = resolve));
    await prev;
    try {
      this.checkOpen();
      const tx = new Transaction(this.root, true);
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        tx.finish(); // rollback: drop the buffered writes
        throw err;
      }
      const ops = tx.finish();
      if (ops.length > 0) {
        this.root.transactionSync(() => {
          for (const op of ops) {
            if ('remove' in op) this.root.removeSync(dbKey(op.key));
            else this.root.putSync(dbKey(op.key), op.value);
          }
        });
      }
      return result;
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer;
    await this.root.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new FailedPreconditionError(`metadata store ${this.dbPath} is closed`);
  }
}
