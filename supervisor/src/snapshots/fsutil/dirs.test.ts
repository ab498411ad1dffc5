import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeTree, renameInto } from './dirs';

describe('snapshot directory helpers', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dirs-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** n files spread over a few nested directories below dir. */
  const tree = (dir: string, n: number): void => {
    fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, i % 2 ? 'a' : path.join('a', 'b'), `f${i}`), 'x');
  };

  it('removeTree removes a tree of nested directories and files', async () => {
    const big = path.join(tmp, 'big');
    tree(big, 200);
    await removeTree(big);
    expect(fs.existsSync(big)).toBe(false);
  });

  (process.getuid?.() === 0 ? it : it.skip)('removeTree refuses a tree with a mount below it and leaves it whole', async () => {
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
