/**
 * Checks berth adds to containerd's suite: RemoveIntermediateSnapshot (from
 * testsuite.go), pinned error kinds (and of a bad Walk filter), Usage,
 * concurrency, a restart between steps, and cleanup of orphans.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kindOf, type ErrorKind } from '../../../../proto/src/errdefs';
import { unmountAll } from '../../mount/mount';
import * as fst from '../../../../test/support/fs-applier';
import { checkDirectoryEqual } from '../../../../test/support/dir-equal';
import { opt, prepareMount, withMounted } from './helpers';
import type { Check } from './testsuite';

async function expectKind(p: Promise<unknown>, kind: ErrorKind, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.equal(kindOf(err), kind, `${what}: expected ${kind}, got ${String(err)}`);
    return;
  }
  throw new Error(`${what}: expected a ${kind} error`);
}

const checkRemoveIntermediateSnapshot: Check = async ({ sn, work }) => {
  const base = await prepareMount(sn, work, 'base', '');
  const committedBase = path.join(work, 'committed-base');
  await sn.commit(committedBase, base, opt);
  const intermediate = path.join(work, 'intermediate');
  await sn.prepare(intermediate, committedBase, opt);
  const committedInter = path.join(work, 'committed-inter');
  await sn.commit(committedInter, intermediate, opt);
  const topLayer = path.join(work, 'toplayer');
  await sn.prepare(topLayer, committedInter, opt);
  await expectKind(sn.remove(committedInter), 'FailedPrecondition', 'intermediate layer removal');
  await sn.remove(topLayer);
  await sn.remove(committedInter);
  await unmountAll(base);
  await sn.remove(committedBase);
};

const checkErrorKinds: Check = async ({ sn }) => {
  await expectKind(sn.stat('unknown'), 'NotFound', 'stat of an unknown key');
  await expectKind(sn.mounts('unknown'), 'NotFound', 'mounts of an unknown key');
  await expectKind(sn.usage('unknown'), 'NotFound', 'usage of an unknown key');
  await expectKind(sn.remove('unknown'), 'NotFound', 'remove of an unknown key');
  await expectKind(sn.prepare('on-missing', 'missing-parent', opt), 'NotFound', 'prepare on a missing parent');
  await expectKind(sn.commit('c', 'missing-key', opt), 'NotFound', 'commit of a missing key');
  await sn.prepare('a', '', opt);
  await expectKind(sn.prepare('a', '', opt), 'AlreadyExists', 'duplicate prepare');
  await sn.commit('c', 'a', opt);
  await expectKind(sn.prepare('b', 'c', opt).then(() => sn.commit('c', 'b', opt)), 'AlreadyExists', 'commit onto an existing name');
  await expectKind(sn.remove('c'), 'FailedPrecondition', 'remove with a child');
  await expectKind(sn.mounts('c'), 'FailedPrecondition', 'mounts of a committed snapshot');
  await sn.view('v', 'c', opt);
  await expectKind(sn.commit('from-view', 'v', opt), 'FailedPrecondition', 'commit of a view');
  await sn.prepare('a2', '', opt);
  await expectKind(sn.prepare('on-active', 'a2', opt), 'InvalidArgument', 'prepare on an active parent');
  const st = await sn.stat('c');
  await expectKind(sn.update({ ...st, parent: 'x' }, 'parent'), 'InvalidArgument', 'update of an immutable field');
  // Nothing half-made is visible after the failures.
  const names: string[] = [];
  await sn.walk((i) => void names.push(i.name));
  assert.deepEqual(names.sort(), ['a2', 'b', 'c', 'v']);
};

/** A filter that does not parse is InvalidArgument (containerd 1.6's List sends that error unconverted: UNKNOWN). */
const checkWalkBadFilter: Check = async ({ sn }) => {
  await expectKind(sn.walk(() => undefined, 'name=='), 'InvalidArgument', 'walk with a bad filter');
  await expectKind(sn.walk(() => undefined, 'labels."open'), 'InvalidArgument', 'walk with an unterminated quote');
};

const checkUsage: Check = async ({ sn, work, options }) => {
  const m = await sn.prepare('usage-a', '', opt);
  const before = await sn.usage('usage-a');
  await withMounted(m, work, 'usage', async (dir) => {
    await fs.promises.writeFile(path.join(dir, 'big'), Buffer.alloc(1 << 20, 1));
    await fs.promises.mkdir(path.join(dir, 'd'));
    await fs.promises.writeFile(path.join(dir, 'd', 'small'), 'x');
  });
  const after = await sn.usage('usage-a');
  assert.ok(after.size - before.size >= 1 << 20, `usage grew by ${after.size - before.size} bytes, expected ≥ 1 MiB`);
  if (options.usageInodes !== false) assert.ok(after.inodes - before.inodes >= 3, `usage grew by ${after.inodes - before.inodes} inodes, expected ≥ 3`);
  await sn.commit('usage-c', 'usage-a', opt);
  const committed = await sn.usage('usage-c');
  assert.ok(committed.size >= 1 << 20, `committed usage ${committed.size} < 1 MiB`);
  if (options.usageInodes !== false) assert.ok(committed.inodes >= after.inodes - before.inodes, `committed usage has ${committed.inodes} inodes`);
};

const checkConcurrentPrepareCommit: Check = async ({ sn, work }) => {
  await sn.prepare('base-a', '', opt);
  await sn.commit('base', 'base-a', opt);
  const n = 16;
  // Same key from many callers: exactly one wins, the rest get AlreadyExists.
  const dup = await Promise.allSettled(Array.from({ length: n }, () => sn.prepare('same', 'base', opt)));
  assert.equal(dup.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of dup) if (r.status === 'rejected') assert.equal(kindOf(r.reason), 'AlreadyExists');
  // Many keys at once, each committed, half removed, concurrently.
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const m = await sn.prepare(`k${i}`, 'base', opt);
      await withMounted(m, work, `c${i}-`, (dir) => fs.promises.writeFile(path.join(dir, 'id'), String(i)));
      await sn.commit(`n${i}`, `k${i}`, opt);
    }),
  );
  await Promise.all(Array.from({ length: n / 2 }, (_, i) => sn.remove(`n${i}`)));
  for (let i = n / 2; i < n; i++) {
    const m = await sn.view(`v${i}`, `n${i}`, opt);
    await withMounted(m, work, `v${i}-`, async (dir) => assert.equal(await fs.promises.readFile(path.join(dir, 'id'), 'utf8'), String(i)));
  }
  const names: string[] = [];
  await sn.walk((i) => void names.push(i.name), 'kind==committed');
  assert.deepEqual(names.sort(), ['base', ...Array.from({ length: n / 2 }, (_, i) => `n${i + n / 2}`)].sort());
};

const checkRestartBetweenSteps: Check = async (ctx) => {
  const { work } = ctx;
  const a = fst.apply(fst.createDir('/etc', 0o755), fst.createFile('/etc/hostname', 'before\n', 0o644));
  const b = fst.apply(fst.createFile('/etc/hostname', 'after\n', 0o600), fst.removeAll('/etc'), fst.createFile('/x', 'x', 0o644));
  let m = await ctx.sn.prepare('l1-a', '', { labels: { keep: 'me' } });
  await withMounted(m, work, 'l1', a);
  await ctx.restart();
  assert.equal((await ctx.sn.stat('l1-a')).labels.keep, 'me'); // a backend may add its own (devmapper's fstype)
  m = await ctx.sn.mounts('l1-a');
  await withMounted(m, work, 'l1', async (dir) => assert.equal(await fs.promises.readFile(path.join(dir, 'etc/hostname'), 'utf8'), 'before\n'));
  await ctx.sn.commit('l1', 'l1-a', opt);
  await ctx.restart();
  m = await ctx.sn.prepare('l2-a', 'l1', opt);
  await ctx.restart();
  await withMounted(await ctx.sn.mounts('l2-a'), work, 'l2', b);
  await ctx.sn.commit('l2', 'l2-a', opt);
  await ctx.restart();
  const flat = await fs.promises.mkdtemp(path.join(work, 'flat'));
  await a(flat);
  await b(flat);
  m = await ctx.sn.view('l2-v', 'l2', opt);
  await withMounted(m, work, 'v', (dir) => checkDirectoryEqual(flat, dir));
  assert.equal((await ctx.sn.stat('l2')).parent, 'l1');
  await ctx.sn.remove('l2-v');
  await ctx.restart();
  await ctx.sn.remove('l2');
  await ctx.sn.remove('l1');
  const left: string[] = [];
  await ctx.sn.walk((i) => void left.push(i.name));
  assert.deepEqual(left, []);
};

const checkCleanupOrphans: Check = async (ctx) => {
  const { work } = ctx;
  const m = await ctx.sn.prepare('live-a', '', opt);
  await withMounted(m, work, 'live', (dir) => fs.promises.writeFile(path.join(dir, 'f'), 'live'));
  await ctx.sn.commit('live', 'live-a', opt);
  await ctx.sn.prepare('gone', 'live', opt);
  await ctx.sn.remove('gone');
  assert.ok(ctx.sn.cleanup, 'the snapshotter implements cleanup');
  const stillThere = ctx.options.orphan ? await ctx.options.orphan(ctx.root) : undefined;
  await ctx.restart();
  await ctx.sn.cleanup?.();
  if (stillThere) assert.equal(await stillThere(), false, 'the orphan was not removed');
  await withMounted(await ctx.sn.view('live-v', 'live', opt), work, 'v', async (dir) =>
    assert.equal(await fs.promises.readFile(path.join(dir, 'f'), 'utf8'), 'live'),
  );
};

export const berthChecks: Array<[string, Check]> = [
  ['RemoveIntermediateSnapshot', checkRemoveIntermediateSnapshot],
  ['ErrorKinds', checkErrorKinds],
  ['WalkBadFilter', checkWalkBadFilter],
  ['Usage', checkUsage],
  ['ConcurrentPrepareCommit', checkConcurrentPrepareCommit],
  ['RestartBetweenSteps', checkRestartBetweenSteps],
  ['CleanupOrphans', checkCleanupOrphans],
];
