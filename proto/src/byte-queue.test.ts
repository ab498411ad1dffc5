import { ByteQueue } from './byte-queue';

describe('ByteQueue', () => {
  it('takes across chunk boundaries, copying only what spans chunks', () => {
    const q = new ByteQueue();
    const a = Buffer.from('abc');
    q.push(a);
    q.push(Buffer.alloc(0));
    q.push(Buffer.from('defgh'));
    expect(q.length).toBe(8);
    expect(q.peek(2).toString()).toBe('ab');
    const ab = q.take(2);
    expect(ab.toString()).toBe('ab');
    expect(ab.buffer).toBe(a.buffer); // within one chunk: a view, no copy
    expect(q.take(0).length).toBe(0);
    expect(q.peek(4).toString()).toBe('cdef');
    expect(q.take(5).toString()).toBe('cdefg');
    expect(q.length).toBe(1);
    expect(q.take(1).toString()).toBe('h');
    expect(q.length).toBe(0);
    expect(q.take(0).length).toBe(0);
  });
});
