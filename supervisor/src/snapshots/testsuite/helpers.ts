/**
 * Helpers of the conformance suite (containerd snapshots/testsuite/helpers.go):
 * mount/unmount around an applier, and checkSnapshots, the flat-directory oracle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountAll, unmountAll } from '../../mount/mount';
import type { Mount } from '../../mount/types';
import type { Snapshotter, SnapshotOpts } from '../snapshotter';
import { checkDirectoryEqual } from '../../../../test/support/dir-equal';
import type { Applier } from '../../../../test/support/fs-applier';

/** The label every snapshot of the suite carries (containerd's opt). */
export const opt: SnapshotOpts = { labels: { 'containerd.io/gc.root': new Date().toISOString() } };

let counter = 0;
export const uniqueName = (prefix: string): string => `${prefix}-${process.pid}-${++counter}-${Math.floor(Math.random() * 1e9)}`;

/** Mounts m on a fresh dir below work, runs fn, always unmounts and removes the dir. */
export async function withMounted<T>(m: Mount[], work: string, prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const td = await fs.promises.mkdtemp(path.join(work, prefix));
  try {
    await mountAll(m, td);
    try {
      return await fn(td);
    } finally {
      await unmountAll(td);
    }
  } finally {
    await fs.promises.rmdir(td);
  }
}

/** Prepares key on parent and mounts it on work/<name> (snapshotterPrepareMount); the caller unmounts. */
export async function prepareMount(sn: Snapshotter, work: string, name: string, parent: string): Promise<string> {
  const target = path.join(work, name);
  await fs.promises.mkdir(target, { recursive: true });
  const m = await sn.prepare(target, parent, opt);
  if (m.length < 1) throw new Error('expected mounts to have entries');
  await mountAll(m, target);
  return target;
}

/** A new committed snapshot: prepare on parent, apply a, commit (createSnapshot). */
export async function createSnapshot(sn: Snapshotter, parent: string, work: string, a: Applier): Promise<string> {
  const n = uniqueName('snap');
  const prepare = `${n}-prepare`;
  const m = await sn.prepare(prepare, parent, opt);
  await withMounted(m, work, 'prepare', a);
  await sn.commit(n, prepare, opt);
  return n;
}

/** Views name and compares it with the flat directory check (checkSnapshot). */
export async function checkSnapshot(sn: Snapshotter, work: string, name: string, check: string): Promise<void> {
  const view = `${name}-view`;
  const m = await sn.view(view, name, opt);
  try {
    await withMounted(m, work, 'check', (td) => checkDirectoryEqual(check, td));
  } finally {
    await sn.remove(view);
  }
}

/**
 * The flat-directory oracle: applies every applier both to a new snapshot in a
 * chain and to one plain directory, and compares each layer's view with it.
 */
export async function checkSnapshots(sn: Snapshotter, work: string, ...as: Applier[]): Promise<void> {
  const flat = await fs.promises.mkdtemp(path.join(work, 'flat'));
  try {
    let parent = '';
    for (const [i, a] of as.entries()) {
      let s: string;
      try {
        s = await createSnapshot(sn, parent, work, a);
      } catch (err) {
        throw new Error(`failed to create snapshot ${i + 1}: ${(err as Error).message}`, { cause: err });
      }
      await a(flat);
      try {
        await checkSnapshot(sn, work, s, flat);
      } catch (err) {
        throw new Error(`snapshot check failed on snapshot ${i + 1}: ${(err as Error).message}`, { cause: err });
      }
      parent = s;
    }
  } finally {
    await fs.promises.rm(flat, { recursive: true, force: true });
  }
}
