import { Mutex, RWLock } from './locks';

const tick = () => new Promise((r) => setImmediate(r));

describe('locks', () => {
  it('a mutex runs callers one at a time, in order, past failures', async () => {
    const m = new Mutex();
    const seen: string[] = [];
    const job = (id: string, fail = false) => m.run(async () => {
      seen.push(`start ${id}`);
      await tick();
      seen.push(`end ${id}`);
      if (fail) throw new Error(id);
    });
    const r = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(seen).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('readers share, a writer waits for them and holds later readers back', async () => {
    const l = new RWLock();
    const seen: string[] = [];
    const reader = (id: string) => l.read(async () => {
      seen.push(`r${id}+`);
      await tick();
      seen.push(`r${id}-`);
    });
    const r0 = reader('0');
    const w = l.write(async () => {
      seen.push('w+');
      await tick();
      seen.push('w-');
    });
    await Promise.all([r0, w, reader('2'), reader('3')]);
    // r0 held the lock when the writer came; r2 and r3 came after the writer and share the lock.
    expect(seen).toEqual(['r0+', 'r0-', 'w+', 'w-', 'r2+', 'r3+', 'r2-', 'r3-']);
  });
});
