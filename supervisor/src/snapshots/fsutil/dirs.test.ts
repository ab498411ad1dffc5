import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeSmallTreeSync, removeTree, renameInto, SYNC_REMOVE_BUDGET } from './dirs';

describe('snapshot directory helpers', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dirs-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** n files spread over a few nested directories below dir. */
  const tree = (dir: string, n: number): void => {
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, i % 2 ? 'a' : path.join('a', 'b'), `f${i}`), 'x');
  };

  it('removes a small tree on the calling thread, symlinks as links', () => {
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep'), 'x');
    const p = path.join(tmp, 'snap');
    fs.mkdirSync(path.join(p, 'fs'), { recursive: true });
    fs.mkdirSync(path.join(p, 'work', 'work'), { recursive: true, mode: 0o000 });
    fs.symlinkSync(outside, path.join(p, 'fs', 'link'));
    execFileSync('mkfifo', [path.join(p, 'fs', 'fifo')]);
    expect(removeSmallTreeSync(p, SYNC_REMOVE_BUDGET)).toBe(true);
    expect(fs.existsSync(p)).toBe(false);
    expect(fs.readdirSync(outside)).toEqual(['keep']);
  });

  it('leaves a tree above the budget untouched, and a missing path or a file is done at once', () => {
    const p = path.join(tmp, 'big');
    tree(p, 10);
    const before = fs.readdirSync(p, { recursive: true }).sort();
    expect(before.length).toBe(12);
    expect(removeSmallTreeSync(p, 11)).toBe(false);
    expect(fs.readdirSync(p, { recursive: true }).sort()).toEqual(before);
    expect(removeSmallTreeSync(p, 12)).toBe(true);
    expect(removeSmallTreeSync(path.join(tmp, 'missing'), 1)).toBe(true);
    fs.writeFileSync(path.join(tmp, 'file'), 'x');
    expect(removeSmallTreeSync(path.join(tmp, 'file'), 0)).toBe(true);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('removeTree removes trees of any size, and refuses one with a mount below it', async () => {
    const big = path.join(tmp, 'big');
    tree(big, SYNC_REMOVE_BUDGET * 3);
    await removeTree(big);
    expect(fs.existsSync(big)).toBe(false);
  });

  (process.getuid?.() === 0 ? it : it.skip)('removeTree refuses a tree with a mount below it, small or not', async () => {
    const p = path.join(tmp, 'held');
    const m = path.join(p, 'fs', 'mnt');
    fs.mkdirSync(m, { recursive: true });
    fs.writeFileSync(path.join(p, 'fs', 'file'), 'x');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', m]);
    try {
      fs.writeFileSync(path.join(m, 'inside'), 'x');
      await expect(removeTree(p)).rejects.toThrow(/is mounted below it/);
      expect(fs.readdirSync(m)).toEqual(['inside']);
      expect(fs.existsSync(path.join(p, 'fs', 'file'))).toBe(true);
    } finally {
      execFileSync('umount', [m]);
    }
  });

  it('renameInto moves a directory into place, and an orphan at the destination aside first', async () => {
    const src = path.join(tmp, 'new-1');
    fs.mkdirSync(path.join(src, 'fs'), { recursive: true });
    await renameInto(src, path.join(tmp, '1'));
    expect(fs.readdirSync(path.join(tmp, '1'))).toEqual(['fs']);
    const again = path.join(tmp, 'new-2');
    fs.mkdirSync(path.join(again, 'work'), { recursive: true });
    await renameInto(again, path.join(tmp, '1'));
    expect(fs.readdirSync(path.join(tmp, '1'))).toEqual(['work']);
    expect(fs.readdirSync(tmp)).toEqual(['1']);
  });
});
