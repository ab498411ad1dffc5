import { decodeEvent, Exchange, type Envelope } from './exchange';

describe('event exchange', () => {
  it('encodes a typed event only when a subscriber reads it, once, and delivers it by filter', () => {
    const ex = new Exchange();
    const exits: Envelope[] = [];
    const all: Envelope[] = [];
    const offExits = ex.subscribe(['topic=="/tasks/exit"'], (env) => exits.push(env));
    const offAll = ex.subscribe([], (env) => all.push(env));
    ex.publishTyped('ns1', '/snapshot/prepare', 'containerd.events.SnapshotPrepare', { key: 'k', parent: 'p' });
    expect(exits).toEqual([]);
    expect(all.map((e) => [e.namespace, e.topic])).toEqual([['ns1', '/snapshot/prepare']]);
    const ev = all[0].event!;
    expect(ev.type_url).toBe('containerd.events.SnapshotPrepare');
    expect(decodeEvent(ev)).toEqual({ key: 'k', parent: 'p' });
    expect(all[0].event).toBe(ev); // memoized: one encoding for every reader
    offExits();
    offAll();
  });

  it('refuses a bad topic at publish time, lazily encoded or not', () => {
    const ex = new Exchange();
    expect(() => ex.publishTyped('ns', 'snapshot/prepare', 'containerd.events.SnapshotPrepare', { key: 'k' })).toThrow(/must start with/);
    expect(() => ex.publish('ns', '/a//b', { type_url: 'x', value: Buffer.alloc(0) })).toThrow(/failed validation/);
  });
});
