import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic-file';

test('writeFileAtomic replaces a file whole, with its mode, and leaves no temp file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-atomic-'));
  try {
    const f = path.join(dir, 'address');
    writeFileAtomic(f, 'unix:///a');
    writeFileAtomic(f, 'unix:///b', 0o600);
    expect(fs.readFileSync(f, 'utf8')).toBe('unix:///b');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['address']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
