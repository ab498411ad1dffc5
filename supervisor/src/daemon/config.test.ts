import { configToToml, defaultConfig, mergeConfig } from './config';
import { parse } from 'smol-toml';

describe('config', () => {
  it('overlays a document on the defaults, keeping what it does not name', () => {
    const cfg = mergeConfig(defaultConfig(), { root: '/r', grpc: { address: '/s.sock', mode: '0600' }, debug: { level: 'debug' }, plugins: { 'io.containerd.snapshotter.v1.btrfs': { root_path: '/b' } } });
    expect(cfg.root).toBe('/r');
    expect(cfg.state).toBe('/run/berth');
    expect(cfg.grpc).toMatchObject({ address: '/s.sock', mode: 0o600, max_recv_message_size: 16 << 20 });
    expect(cfg.debug).toEqual({ level: 'debug', format: 'text' });
    expect(cfg.plugins['io.containerd.snapshotter.v1.btrfs']).toEqual({ root_path: '/b' });
  });

  it('keeps an empty [debug] level at its default, as containerd', () => {
    expect(mergeConfig(defaultConfig(), { debug: { level: '' } }).debug.level).toBe('info');
  });

  it.each([
    [{ root: 1 }, /root must be a string/],
    [{ version: 3 }, /unsupported config version/],
    [{ grpc: { mode: '0999' } }, /grpc.mode is not a file mode/],
    [{ plugins: { x: 1 } }, /plugins."x" must be a object/],
    [{ disabled_plugins: 'x' }, /disabled_plugins must be a array/],
  ])('refuses %j', (doc, msg) => {
    expect(() => mergeConfig(defaultConfig(), doc as Record<string, unknown>)).toThrow(msg);
  });

  it('prints TOML that reads back to the same config', () => {
    const cfg = defaultConfig();
    cfg.plugins['io.containerd.gc.v1.scheduler'] = { pause_threshold: 0.02, deletion_threshold: 0, mutation_threshold: 100, schedule_delay: '0s', startup_delay: '100ms' };
    const back = mergeConfig(defaultConfig(), parse(configToToml(cfg)) as Record<string, unknown>);
    expect(back).toEqual(cfg);
  });
});
