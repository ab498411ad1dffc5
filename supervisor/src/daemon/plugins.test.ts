import { graph, PluginSet, skip, type Registration } from './plugins';
import { nullLogger } from './logging';

const reg = (type: string, id: string, requires: string[] = [], init: Registration['init'] = () => ({ id })): Registration => ({ type, id, requires, init });

describe('plugin registry', () => {
  it('orders plugins after the types they require, "*" last', () => {
    const order = graph([reg('grpc', 'a', ['service']), reg('intro', 'i', ['*']), reg('service', 's', ['meta']), reg('meta', 'm')]).map((r) => r.id);
    expect(order).toEqual(['m', 's', 'a', 'i']);
  });

  it('reports a cycle', () => {
    expect(() => graph([reg('a', 'a', ['b']), reg('b', 'b', ['a'])])).toThrow(/cycle/);
  });

  it('initialises, skips with a reason, records errors, honours disabled, and gives dependencies', async () => {
    const set = new PluginSet({ root: '/tmp/r', state: '/tmp/s', address: '/tmp/a', config: { 'svc.x': { k: 'v' } }, disabled: ['off'], log: nullLogger() });
    await set.init([
      reg('meta', 'm'),
      reg('snap', 'btrfs', [], () => skip('/nowhere is not a btrfs filesystem')),
      reg('snap', 'broken', [], () => {
        throw new Error('boom');
      }),
      reg('snap', 'off'),
      { type: 'svc', id: 'x', requires: ['meta'], config: { k: 'default', j: 1 }, init: (ic) => ({ meta: ic.get('meta'), config: ic.config, root: ic.root }) },
    ]);
    const status = Object.fromEntries(set.entries.map((e) => [e.registration.id, e.status]));
    expect(status).toEqual({ m: 'ok', btrfs: 'skipped', broken: 'error', off: 'disabled', x: 'ok' });
    expect(set.entries.find((e) => e.registration.id === 'btrfs')!.error!.message).toBe('/nowhere is not a btrfs filesystem');
    expect(set.getByID('svc', 'x')).toEqual({ meta: { id: 'm' }, config: { k: 'v', j: 1 }, root: '/tmp/r/svc.x' });
    expect([...set.getAll('snap').keys()]).toEqual([]);
  });
});
