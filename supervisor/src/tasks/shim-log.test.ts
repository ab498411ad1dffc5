import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FifoPool } from './shim-log';

test('the pool hands out FIFOs and keeps one spare', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fifopool-'));
  try {
    const pool = new FifoPool(path.join(dir, '.spare'));
    await pool.take(path.join(dir, 'a')); // none spare yet: made on the spot
    await pool.settled();
    expect(fs.statSync(path.join(dir, '.spare')).isFIFO()).toBe(true);
    await pool.take(path.join(dir, 'b')); // the spare, renamed
    await pool.settled();
    for (const f of ['a', 'b', '.spare']) expect(fs.statSync(path.join(dir, f)).isFIFO()).toBe(true);
    fs.rmSync(path.join(dir, '.spare'));
    fs.writeFileSync(path.join(dir, '.spare'), 'not a fifo');
    await pool.take(path.join(dir, 'c'));
    expect(fs.statSync(path.join(dir, 'c')).isFIFO()).toBe(true);
    await pool.settled();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
