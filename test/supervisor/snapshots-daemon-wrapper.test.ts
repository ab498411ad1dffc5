/**
 * The namespaced metadata wrapper (metadata/snapshots.ts, containerd's
 * metadata/snapshot.go) in process: the conformance suite through a
 * namespaced view over overlayfs (containerd's snapshot_suite_test.go), then
 * what only the wrapper does — namespaces, backend keys and labels, leases,
 * and garbage collection down to the backend.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { kindOf } from '../../proto/src/errdefs';
import { LocalStore } from '../../supervisor/src/content/local-store';
import { nullLogger } from '../../supervisor/src/daemon/logging';
import { MetadataDB } from '../../supervisor/src/metadata/db';
import { GarbageCollector } from '../../supervisor/src/metadata/gc';
import { LeaseManager } from '../../supervisor/src/metadata/leases';
import { NamespacedSnapshotter, SnapshotStore } from '../../supervisor/src/metadata/snapshots';
import { SnapshotsCollector } from '../../supervisor/src/metadata/snapshots-gc';
import { OverlaySnapshotter } from '../../supervisor/src/snapshots/overlay/overlay';
import type { Info, Snapshotter } from '../../supervisor/src/snapshots/snapshotter';
import { snapshotterSuite } from '../../supervisor/src/snapshots/testsuite/testsuite';

const skip = process.getuid?.() !== 0 ? 'needs root (mount)' : !fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay') ? 'no overlay in /proc/filesystems' : undefined;

/** A namespaced view that owns its backend and metadata store (the suite closes it, and restarts reopen both). */
class OwningView extends NamespacedSnapshotter {
  private closed = false;
  constructor(store: SnapshotStore, ns: string, private readonly release: () => Promise<void>) {
    super(store, ns);
  }
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }
}

snapshotterSuite(
  'overlayfs-namespaced',
  async (root) => {
    const db = new MetadataDB(path.join(root, 'meta'));
    const backend = await OverlaySnapshotter.open(path.join(root, 'overlayfs'));
    const store = new SnapshotStore('overlayfs', backend, db, nullLogger());
    return { snapshotter: new OwningView(store, 'testsuite', async () => {
      await backend.close();
      await db.close();
    }) };
  },
  {
    skip,
    orphan: async (root) => {
      const p = path.join(root, 'overlayfs', 'snapshots', '999999');
      await fs.promises.mkdir(path.join(p, 'fs'), { recursive: true });
      return async () => fs.existsSync(p);
    },
    exclude: { '128LayersMount': 'the wrapper maps keys only; chain depth is the backend\'s, run by snapshots-overlay.test.ts' },
  },
);

(skip ? describe.skip : describe)('the namespaced wrapper', () => {
  let tmp: string;
  let db: MetadataDB;
  let backend: OverlaySnapshotter;
  let store: SnapshotStore;
  let gc: GarbageCollector;
  let leases: LeaseManager;

  beforeEach(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'snapshots-wrapper-'));
    db = new MetadataDB(path.join(tmp, 'meta'));
    backend = await OverlaySnapshotter.open(path.join(tmp, 'overlayfs'));
    store = new SnapshotStore('overlayfs', backend, db, nullLogger());
    gc = new GarbageCollector(db, new LocalStore(path.join(tmp, 'content')), nullLogger());
    gc.registerSnapshots(new SnapshotsCollector(new Map([['overlayfs', store]]), nullLogger()));
    leases = new LeaseManager(db);
  });
  afterEach(async () => {
    await backend.close();
    await db.close();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  });

  const backendNames = async (): Promise<string[]> => {
    const out: string[] = [];
    await backend.walk((i) => void out.push(i.name));
    return out.sort();
  };
  const names = async (sn: Snapshotter, ...filters: string[]): Promise<string[]> => {
    const out: string[] = [];
    await sn.walk((i) => void out.push(i.name), ...filters);
    return out.sort();
  };
  const root = { labels: { 'containerd.io/gc.root': 'now' } };

  it('keeps namespaces apart: the same key in two namespaces, backend keys <ns>/<seq>/<key>', async () => {
    const a = store.view('ns-a');
    const b = store.view('ns-b');
    await a.prepare('k', '', root);
    await b.prepare('k', '', root);
    await a.commit('base', 'k', root);
    expect(await names(a)).toEqual(['base']);
    expect(await names(b)).toEqual(['k']);
    expect(await backendNames()).toEqual(['ns-a/3/base', 'ns-b/2/k']);
    await expect(b.stat('base')).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(b.prepare('child', 'base')).rejects.toThrow(/parent snapshot base does not exist/);
    expect(db.namespaces().sort()).toEqual(['ns-a', 'ns-b']);
  });

  it('never reuses a backend key number: a new store (a restart) takes numbers past the block the last one reserved', async () => {
    await store.view('ns').prepare('a', '', root);
    // the backend prepared 'ns/2/lost' but the daemon died before recording it: an orphan for the GC
    await backend.prepare('ns/2/lost', '');
    const again = new SnapshotStore('overlayfs', backend, db, nullLogger());
    await again.view('ns').prepare('b', '', root);
    expect(await backendNames()).toEqual(['ns/1/a', 'ns/1001/b', 'ns/2/lost']);
    expect(db.get(['snapshotters', 'overlayfs', 'seq'])).toBe(2000);
  });

  it('passes only containerd.io/snapshot/ labels to the backend, keeps the rest in metadata, and Update drops empty values', async () => {
    const v = store.view('ns');
    await v.prepare('k', '', { labels: { 'containerd.io/snapshot/remote': 'r', mine: 'm' } });
    const binfos: Info[] = [];
    await backend.walk((i) => void binfos.push(i));
    expect(binfos).toHaveLength(1);
    expect(binfos[0].labels).toEqual({ 'containerd.io/snapshot/remote': 'r' });
    expect((await v.stat('k')).labels).toEqual({ 'containerd.io/snapshot/remote': 'r', mine: 'm' });
    const st = await v.stat('k');
    const up = await v.update({ ...st, labels: { mine: '', other: 'o' } }, 'labels.mine', 'labels.other');
    expect(up.labels).toEqual({ 'containerd.io/snapshot/remote': 'r', other: 'o' });
    expect(up.updated.getTime()).toBeGreaterThanOrEqual(st.updated.getTime());
    await expect(v.update({ ...st, parent: 'x' }, 'parent')).rejects.toMatchObject({ kind: 'InvalidArgument' });
  });

  it('refuses a prepare whose snapshot.ref target already exists (the unpacker then reuses it)', async () => {
    const v = store.view('ns');
    await v.prepare('a', '', root);
    await v.commit('sha256:target', 'a', root);
    const err = await v.prepare('extract-1 sha256:target', '', { labels: { 'containerd.io/snapshot.ref': 'sha256:target' } }).catch((e: unknown) => e);
    expect(kindOf(err)).toBe('AlreadyExists');
    expect(String(err)).toMatch(/target snapshot "sha256:target": already exists/);
    expect(await backendNames()).toHaveLength(1);
  });

  it('adds what it creates to the lease; a commit moves the lease from the key to the name', async () => {
    leases.create('ns', 'l1', {});
    const v = store.view('ns', 'l1');
    await v.prepare('k', '');
    expect(leases.listResources('ns', 'l1')).toEqual([{ type: 'snapshots/overlayfs', id: 'k' }]);
    await v.commit('n', 'k');
    expect(leases.listResources('ns', 'l1')).toEqual([{ type: 'snapshots/overlayfs', id: 'n' }]);
    await expect(store.view('ns', 'missing-lease').prepare('k2', '')).rejects.toThrow(/lease "missing-lease": not found/);
    expect(await names(store.view('ns'))).toEqual(['n']); // nothing half-made
    expect(await backendNames()).toHaveLength(1);
  });

  it('removes records only; garbage collection removes unreferenced snapshots down to the backend', async () => {
    const v = store.view('ns');
    await v.prepare('base-a', '');
    await v.commit('base', 'base-a');
    await v.prepare('kept', 'base', root); // a root keeps its parent alive
    await v.prepare('loose', ''); // nothing keeps it
    await v.prepare('ref-a', '');
    await v.commit('by-label', 'ref-a');
    await v.prepare('holder', '', { labels: { 'containerd.io/gc.root': 'x', 'containerd.io/gc.ref.snapshot.overlayfs/l': 'by-label' } });
    leases.create('ns', 'lease', {});
    await store.view('ns', 'lease').prepare('leased', '');
    const stats = await gc.collect();
    expect(stats.removed.snapshots).toBe(1);
    expect(await names(v)).toEqual(['base', 'by-label', 'holder', 'kept', 'leased']);
    expect((await backendNames()).map((n) => n.split('/')[2]).sort()).toEqual(['base', 'by-label', 'holder', 'kept', 'leased']);

    await v.remove('kept');
    expect(await backendNames()).toHaveLength(5); // the backend snapshot stays until GC
    await expect(v.remove('base')).resolves.toBeUndefined(); // no child left
    leases.delete('ns', 'lease');
    await gc.collect();
    expect(await names(v)).toEqual(['by-label', 'holder']);
    expect((await backendNames()).map((n) => n.split('/')[2]).sort()).toEqual(['by-label', 'holder']);
  });

  it('refuses to remove a snapshot with a child (FailedPrecondition) and a missing one (NotFound)', async () => {
    const v = store.view('ns');
    await v.prepare('a', '', root);
    await v.commit('p', 'a', root);
    await v.prepare('c', 'p', root);
    await expect(v.remove('p')).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringMatching(/cannot remove snapshot with child/) });
    await expect(v.remove('nope')).rejects.toMatchObject({ kind: 'NotFound' });
    await v.remove('c');
    await v.remove('p');
    expect(await names(v)).toEqual([]);
  });
});
