/**
 * The shim manager's plugins: the ttrpc endpoint shims forward events to
 * (io.containerd.ttrpc.v1 "events", on <grpc address>.ttrpc unless
 * [plugins."io.containerd.ttrpc.v1.events"] address says otherwise) and the
 * v2 runtime itself (io.containerd.runtime.v2 "task": bundles under
 * <state>/io.containerd.runtime.v2.task, work dirs under the root), which
 * reconnects to the shims of a previous run when it loads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PluginType, register } from '../daemon/plugins';
import type { Exchange } from '../events/exchange';
import type { Metadata } from '../metadata/plugin';
import { ShimManager } from './manager';
import { TtrpcEventsServer } from './ttrpc-events';

export const TTRPC_PLUGIN = 'io.containerd.ttrpc.v1';

register<TtrpcEventsServer>({
  type: TTRPC_PLUGIN,
  id: 'events',
  requires: [PluginType.Event],
  config: { address: '' },
  init: async (ic) => {
    const address = String(ic.config.address || `${ic.daemon.address}.ttrpc`);
    fs.mkdirSync(path.dirname(address), { recursive: true, mode: 0o711 });
    ic.exports.address = address;
    return TtrpcEventsServer.listen(address, ic.get<Exchange>(PluginType.Event), ic.log);
  },
});

/** Where berthd's own binaries are: dist/bin next to the bundle, or the source tree's dist/bin. */
function binDirs(): string[] {
  return [path.join(__dirname, 'bin'), path.resolve(__dirname, '..', '..', '..', 'dist', 'bin')].filter((d) => fs.existsSync(d));
}

register<ShimManager>({
  type: PluginType.Runtime,
  id: 'task',
  requires: [PluginType.Metadata, PluginType.Event, TTRPC_PLUGIN],
  // shim_debug: start shims with -debug (their debug lines reach berthd's log)
  config: { shim_debug: false },
  platforms: [{ os: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch, variant: '' }],
  init: async (ic) => {
    const m = ic.get<Metadata>(PluginType.Metadata);
    const events = ic.get<TtrpcEventsServer>(TTRPC_PLUGIN);
    const dirs = binDirs();
    const self = dirs.map((d) => path.join(d, 'berthd')).find((p) => fs.existsSync(p)) ?? process.argv[1];
    fs.mkdirSync(ic.state, { recursive: true, mode: 0o711 });
    fs.mkdirSync(ic.root, { recursive: true, mode: 0o711 });
    const manager = new ShimManager({
      root: ic.root,
      state: ic.state,
      address: ic.daemon.address,
      ttrpcAddress: events.address,
      publishBinary: self,
      binaryDirs: dirs,
      events: ic.get<Exchange>(PluginType.Event),
      containerRuntime: (ns, id) => {
        try {
          return m.containers.get(ns, id).runtime.name;
        } catch {
          return undefined;
        }
      },
      log: ic.log.child({ component: 'tasks.shims' }),
      debug: ic.config.shim_debug === true,
    });
    await manager.load();
    ic.exports.state = ic.state;
    return manager;
  },
});
