/** The checks of containerd's snapshots/testsuite/testsuite.go, same names and steps. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFailedPrecondition, isInvalidArgument, isAlreadyExists } from '../../../../proto/src/errdefs';
import { mountAll, unmountAll } from '../../mount/mount';
import type { Info, Snapshotter } from '../snapshotter';
import { checkDirectoryEqual } from '../../../../test/support/dir-equal';
import * as fst from '../../../../test/support/fs-applier';
import { opt, prepareMount, uniqueName } from './helpers';
import type { Check, CheckContext } from './testsuite';

async function expectReject(p: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error(`${what}: expected an error`);
}

/** Applies a to a fresh dir and compares it with dir (fstest.CheckDirectoryEqualWithApplier). */
async function checkDirectoryEqualWithApplier(work: string, dir: string, a: fst.Applier): Promise<void> {
  const td = await fs.promises.mkdtemp(path.join(work, 'fstest'));
  try {
    await a(td);
    await checkDirectoryEqual(td, dir);
  } finally {
    await fs.promises.rm(td, { recursive: true, force: true });
  }
}

const checkSnapshotterBasic: Check = async ({ sn, work }) => {
  const initialApplier = fst.apply(
    fst.createFile('/foo', 'foo\n', 0o777),
    fst.createDir('/a', 0o755),
    fst.createDir('/a/b', 0o755),
    fst.createDir('/a/b/c', 0o755),
  );
  const diffApplier = fst.apply(fst.createFile('/bar', 'bar\n', 0o777), fst.createFile('/foo', 'bar\n', 0o777), fst.removeAll('/a/b'));

  const preparing = path.join(work, 'preparing');
  await fs.promises.mkdir(preparing, { recursive: true });
  let mounts = await sn.prepare(preparing, '', opt);
  assert.ok(mounts.length >= 1, 'expected mounts to have entries');
  await mountAll(mounts, preparing);
  await initialApplier(preparing);
  await unmountAll(preparing);

  const committed = path.join(work, 'committed');
  await sn.commit(committed, preparing, opt);
  const si = await sn.stat(committed);
  assert.equal(si.parent, '');
  assert.equal(si.kind, 'committed');
  await expectReject(sn.stat(preparing), `${preparing} should no longer be available after Commit`);

  const next = path.join(work, 'nextlayer');
  await fs.promises.mkdir(next, { recursive: true });
  mounts = await sn.prepare(next, committed, opt);
  await mountAll(mounts, next);
  await checkDirectoryEqualWithApplier(work, next, initialApplier);
  await diffApplier(next);
  await unmountAll(next);

  const ni = await sn.stat(next);
  assert.equal(ni.parent, committed);
  assert.equal(ni.kind, 'active');

  const nextCommitted = path.join(work, 'committed-next');
  await sn.commit(nextCommitted, next, opt);
  const si2 = await sn.stat(nextCommitted);
  assert.equal(si2.parent, committed);
  assert.equal(si2.kind, 'committed');
  await expectReject(sn.stat(next), `${next} should no longer be available after Commit`);

  const walked = new Map<string, Info>();
  await sn.walk((i) => void walked.set(i.name, i));
  for (const ev of [si, si2]) {
    const av = walked.get(ev.name);
    assert.ok(av, `missing stat for ${ev.name}`);
    assert.deepEqual(av, ev);
  }

  const nextnext = path.join(work, 'nextnextlayer');
  await fs.promises.mkdir(nextnext, { recursive: true });
  mounts = await sn.view(nextnext, nextCommitted, opt);
  await mountAll(mounts, nextnext);
  try {
    await checkDirectoryEqualWithApplier(work, nextnext, fst.apply(initialApplier, diffApplier));
  } finally {
    await unmountAll(nextnext);
  }
  await sn.remove(nextnext);
  const err = await expectReject(sn.remove(committed), 'removing a parent with a child');
  assert.match(String((err as Error).message), /remove/);
  await sn.remove(nextCommitted);
  await sn.remove(committed);
};

const checkSnapshotterStatActive: Check = async ({ sn, work }) => {
  const preparing = await prepareMount(sn, work, 'preparing', '');
  try {
    await fs.promises.writeFile(path.join(preparing, 'foo'), 'foo\n', { mode: 0o777 });
    const si = await sn.stat(preparing);
    assert.equal(si.name, preparing);
    assert.equal(si.kind, 'active');
    assert.equal(si.parent, '');
  } finally {
    await unmountAll(preparing);
  }
};

const checkSnapshotterStatCommitted: Check = async ({ sn, work }) => {
  const preparing = await prepareMount(sn, work, 'preparing', '');
  try {
    await fs.promises.writeFile(path.join(preparing, 'foo'), 'foo\n', { mode: 0o777 });
  } finally {
    await unmountAll(preparing);
  }
  const committed = path.join(work, 'committed');
  await sn.commit(committed, preparing, opt);
  const si = await sn.stat(committed);
  assert.equal(si.name, committed);
  assert.equal(si.kind, 'committed');
  assert.equal(si.parent, '');
};

const checkSnapshotterTransitivity: Check = async ({ sn, work }) => {
  const preparing = await prepareMount(sn, work, 'preparing', '');
  await fs.promises.writeFile(path.join(preparing, 'foo'), 'foo\n');
  await unmountAll(preparing);
  const snapA = path.join(work, 'snapA');
  await sn.commit(snapA, preparing, opt);
  const next = await prepareMount(sn, work, 'next', snapA);
  await fs.promises.writeFile(path.join(next, 'foo'), 'foo bar\n');
  await unmountAll(next);
  const snapB = path.join(work, 'snapB');
  await sn.commit(snapB, next, opt);
  const siA = await sn.stat(snapA);
  const siB = await sn.stat(snapB);
  const siParentB = await sn.stat(siB.parent);
  assert.equal(siA.parent, '');
  assert.equal(siB.parent, snapA);
  assert.equal(siParentB.parent, '');
};

const checkSnapshotterPrepareView: Check = async ({ sn, work }) => {
  const preparing = await prepareMount(sn, work, 'preparing', '');
  await unmountAll(preparing);
  const snapA = path.join(work, 'snapA');
  await sn.commit(snapA, preparing, opt);

  const newLayer = path.join(work, 'newlayer');
  await sn.prepare(newLayer, snapA, opt);
  assert.ok(isAlreadyExists(await expectReject(sn.view(newLayer, snapA, opt), 'prepare then view with the same key')));

  const prepLayer = path.join(work, 'prepLayer');
  await sn.prepare(prepLayer, snapA, opt);
  assert.ok(isAlreadyExists(await expectReject(sn.prepare(prepLayer, snapA, opt), 'two prepares with the same key')));

  const viewLayer = path.join(work, 'viewLayer');
  await sn.view(viewLayer, snapA, opt);
  assert.ok(isAlreadyExists(await expectReject(sn.view(viewLayer, snapA, opt), 'two views with the same key')));
};

/** c1 ← c2 ← a1, a2, v1 (on c2), v2 (baseTestSnapshots). */
async function baseTestSnapshots(sn: Snapshotter): Promise<void> {
  await sn.prepare('c1-a', '', opt);
  await sn.commit('c1', 'c1-a', opt);
  await sn.prepare('c2-a', 'c1', opt);
  await sn.commit('c2', 'c2-a', opt);
  await sn.prepare('a1', 'c2', opt);
  await sn.prepare('a2', '', opt);
  await sn.view('v1', 'c2', opt);
  await sn.view('v2', '', opt);
}

const checkUpdate: Check = async ({ sn }) => {
  const t1 = Date.now();
  await baseTestSnapshots(sn);
  const t2 = Date.now();
  const cases: Array<{ name: string; kind: Info['kind']; parent: string }> = [
    { name: 'c1', kind: 'committed', parent: '' },
    { name: 'c2', kind: 'committed', parent: 'c1' },
    { name: 'a1', kind: 'active', parent: 'c2' },
    { name: 'a2', kind: 'active', parent: '' },
    { name: 'v1', kind: 'view', parent: 'c2' },
    { name: 'v2', kind: 'view', parent: '' },
  ];
  for (const tc of cases) {
    let st = await sn.stat(tc.name);
    assert.ok(st.created.getTime() >= t1 && st.created.getTime() <= t2, `(${tc.name}) wrong created time`);
    assert.equal(st.created.getTime(), st.updated.getTime(), `(${tc.name}) created != updated`);
    assert.equal(st.kind, tc.kind);
    assert.equal(st.parent, tc.parent);
    assert.equal(st.name, tc.name);

    const createdAt = st.created.getTime();
    const rootTime = new Date().toISOString();
    let expected: Record<string, string> = { l1: 'v1', l2: 'v2', l3: 'v3', 'containerd.io/gc.root': rootTime };
    st = { ...st, parent: 'doesnotexist', labels: expected };
    const u1 = Date.now();
    st = await sn.update(st);
    const u2 = Date.now();
    assert.equal(st.created.getTime(), createdAt, `(${tc.name}) created changed`);
    assert.ok(st.updated.getTime() >= u1 && st.updated.getTime() <= u2, `(${tc.name}) wrong updated time`);
    assert.equal(st.kind, tc.kind);
    assert.equal(st.parent, tc.parent, 'a bogus parent is ignored without field paths');
    assert.equal(st.name, tc.name);
    assert.deepEqual(st.labels, expected);

    expected = { l1: 'updated', l3: 'v3', 'containerd.io/gc.root': rootTime };
    st = await sn.update({ ...st, labels: { l1: 'updated', l4: 'v4' } }, 'labels.l1', 'labels.l2');
    assert.deepEqual(st.labels, expected);

    expected = { l4: 'v4', 'containerd.io/gc.root': rootTime };
    st = await sn.update({ ...st, labels: expected }, 'labels');
    assert.deepEqual(st.labels, expected);

    const err = await expectReject(sn.update({ ...st, parent: 'doesnotexist' }, 'parent'), 'updating an immutable field');
    assert.ok(isInvalidArgument(err), `expected InvalidArgument, got ${String(err)}`);
  }
};

const checkRemove: Check = async ({ sn }) => {
  await sn.prepare('committed-a', '', opt);
  await sn.commit('committed-1', 'committed-a', opt);
  await sn.prepare('reuse-1', 'committed-1', opt);
  await sn.remove('reuse-1');
  await sn.view('reuse-1', 'committed-1', opt);
  await sn.remove('reuse-1');
  await sn.prepare('reuse-1', '', opt);
  await sn.remove('committed-1');
  await sn.commit('committed-1', 'reuse-1', opt);
};

const checkWalk: Check = async ({ sn }) => {
  const o = { labels: { 'containerd.io/gc.root': 'check-walk' } };
  const l = (v: string) => ({ labels: { l: v, 'containerd.io/gc.root': 'check-walk' } });
  await sn.prepare('a-np', '', o);
  await sn.prepare('p-tmp', '', o);
  await sn.commit('p', 'p-tmp', o);
  await sn.prepare('a', 'p', o);
  await sn.view('v', 'p', o);
  await sn.prepare('p-wl-tmp', '', o);
  await sn.commit('p-wl', 'p-wl-tmp', l('1'));
  await sn.prepare('a-wl', 'p-wl', l('2'));
  await sn.view('v-wl', 'p-wl', l('3'));
  await sn.prepare('a-np-wl', '', l('2'));
  const cases: Array<{ matches: string[]; filters: string[] }> = [
    { matches: ['a-np', 'p', 'a', 'v', 'p-wl', 'a-wl', 'v-wl', 'a-np-wl'], filters: ['labels."containerd.io/gc.root"==check-walk'] },
    { matches: ['a-np', 'a', 'a-wl', 'a-np-wl'], filters: ['kind==active,labels."containerd.io/gc.root"==check-walk'] },
    { matches: ['v', 'v-wl'], filters: ['kind==view,labels."containerd.io/gc.root"==check-walk'] },
    { matches: ['p', 'p-wl'], filters: ['kind==committed,labels."containerd.io/gc.root"==check-walk'] },
    { matches: ['p', 'a-np-wl'], filters: ['name==p', 'name==a-np-wl'] },
    { matches: ['a-wl'], filters: ['name==a-wl,labels.l'] },
    { matches: ['a', 'v'], filters: ['parent==p'] },
    { matches: ['a', 'v', 'a-wl', 'v-wl'], filters: ['parent!="",labels."containerd.io/gc.root"==check-walk'] },
    { matches: ['p-wl', 'a-wl', 'v-wl', 'a-np-wl'], filters: ['labels.l'] },
    { matches: ['a-wl', 'a-np-wl'], filters: ['labels.l==2'] },
  ];
  for (const [i, tc] of cases.entries()) {
    const actual: string[] = [];
    await sn.walk((si) => void actual.push(si.name), ...tc.filters);
    assert.deepEqual(actual.sort(), [...tc.matches].sort(), `[${i}] ${tc.filters.join(' OR ')}`);
  }
};

const checkSnapshotterViewReadonly: Check = async ({ sn, work }) => {
  const preparing = path.join(work, 'preparing');
  await sn.prepare(preparing, '', opt);
  const committed = path.join(work, 'committed');
  await sn.commit(committed, preparing, opt);
  const view = path.join(work, 'view');
  const m = await sn.view(view, committed, opt);
  const viewMountPoint = path.join(work, 'view-mount');
  await fs.promises.mkdir(viewMountPoint, { recursive: true });
  await mountAll(m, viewMountPoint);
  try {
    const err = await expectReject(fs.promises.writeFile(path.join(viewMountPoint, 'testfile'), 'testcontent'), 'write to a view');
    assert.equal((err as NodeJS.ErrnoException).code, 'EROFS');
  } finally {
    await unmountAll(viewMountPoint);
  }
  await sn.remove(view);
  await sn.remove(committed);
};

const checkStatInWalk: Check = async ({ sn }) => {
  const prefix = 'stats-in-walk-';
  await createNamedSnapshots(sn, prefix);
  let seen = 0;
  await sn.walk(async (si) => {
    if (!si.name.startsWith(prefix)) return;
    const si2 = await sn.stat(si.name);
    assert.deepEqual(si2, si);
    seen++;
  });
  assert.equal(seen, 4);
};

async function createNamedSnapshots(sn: Snapshotter, ns: string): Promise<void> {
  const c1 = `${ns}c1`;
  const c2 = `${ns}c2`;
  await sn.prepare(`${c1}-a`, '', opt);
  await sn.commit(c1, `${c1}-a`, opt);
  await sn.prepare(`${c2}-a`, c1, opt);
  await sn.commit(c2, `${c2}-a`, opt);
  await sn.prepare(`${ns}a1`, c2, opt);
  await sn.view(`${ns}v1`, c2, opt);
}

const closeTwice: Check = async ({ sn }) => {
  const n = uniqueName('closeTwice');
  const prepare = `${n}-prepare`;
  await sn.prepare(prepare, '', opt);
  await sn.commit(n, prepare, opt);
  await sn.remove(n);
  await sn.close();
  await sn.close();
};

const checkRootPermission: Check = async ({ sn, work }) => {
  const preparing = await prepareMount(sn, work, 'preparing', '');
  try {
    const st = await fs.promises.stat(preparing);
    assert.equal((st.mode & 0o777).toString(8), '755');
  } finally {
    await unmountAll(preparing);
  }
};

const check128LayersMount: Check = async ({ sn, work }) => {
  const appliers: fst.Applier[] = [
    fst.apply(
      fst.createFile('/bottom', 'way at the bottom\n', 0o777),
      fst.createFile('/overwriteme', 'FIRST!\n', 0o777),
      fst.createDir('/ADDHERE', 0o755),
      fst.createDir('/ONLYME', 0o755),
      fst.createFile('/ONLYME/bottom', 'bye!\n', 0o777),
    ),
  ];
  for (let i = 1; i <= 127; i++) {
    appliers.push(
      fst.apply(
        fst.createFile('/overwriteme', `${i} WAS HERE!\n`, 0o777),
        fst.createFile(`/ADDHERE/file-${i}`, 'same\n', 0o755),
        fst.removeAll('/ONLYME'),
        fst.createDir('/ONLYME', 0o755),
        fst.createFile(`/ONLYME/file-${i}`, 'only me!\n', 0o777),
      ),
    );
  }
  const flat = path.join(work, 'flat');
  await fs.promises.mkdir(flat, { recursive: true });
  let parent = '';
  for (const [i, applier] of appliers.entries()) {
    const preparing = path.join(work, `prepare-layer-${i}`);
    await fs.promises.mkdir(preparing, { recursive: true });
    const mounts = await sn.prepare(preparing, parent, opt);
    await mountAll(mounts, preparing);
    try {
      await checkDirectoryEqual(flat, preparing).catch((e) => {
        throw new Error(`[layer ${i}] preparing doesn't equal to flat before apply: ${e.message}`);
      });
      await applier(flat);
      await applier(preparing);
      await checkDirectoryEqual(flat, preparing).catch((e) => {
        throw new Error(`[layer ${i}] preparing doesn't equal to flat after apply: ${e.message}`);
      });
    } finally {
      await unmountAll(preparing);
    }
    parent = path.join(work, `committed-${i}`);
    await sn.commit(parent, preparing, opt);
  }
  const view = path.join(work, 'fullview');
  await fs.promises.mkdir(view, { recursive: true });
  const mounts = await sn.view(view, parent, opt);
  await mountAll(mounts, view);
  try {
    await checkDirectoryEqual(flat, view);
  } finally {
    await unmountAll(view);
  }
};

/** Removal of a committed snapshot with children is refused with FailedPrecondition (pinned kind). */
const checkRemoveWithChildKind: Check = async ({ sn }: CheckContext) => {
  await sn.prepare('p-a', '', opt);
  await sn.commit('p', 'p-a', opt);
  await sn.view('child', 'p', opt);
  assert.ok(isFailedPrecondition(await expectReject(sn.remove('p'), 'remove with a child')));
};

export const basicChecks: Array<[string, Check]> = [
  ['Basic', checkSnapshotterBasic],
  ['StatActive', checkSnapshotterStatActive],
  ['StatComitted', checkSnapshotterStatCommitted],
  ['TransitivityTest', checkSnapshotterTransitivity],
  ['PreareViewFailingtest', checkSnapshotterPrepareView],
  ['Update', checkUpdate],
  ['Remove', checkRemove],
  ['Walk', checkWalk],
  ['ViewReadonly', checkSnapshotterViewReadonly],
  ['StatInWalk', checkStatInWalk],
  ['CloseTwice', closeTwice],
  ['RootPermission', checkRootPermission],
  ['128LayersMount', check128LayersMount],
  ['RemoveWithChildKind', checkRemoveWithChildKind],
];
