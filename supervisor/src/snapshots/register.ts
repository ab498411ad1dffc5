/**
 * Registers every snapshotter with berthd's plugin registry (imported from
 * daemon/builtins.ts), as containerd's builtins do: io.containerd.snapshotter.v1
 * overlayfs (the default), native, btrfs and devmapper, each configured from
 * [plugins."io.containerd.snapshotter.v1.<id>"].
 */
import { register } from '../daemon/plugins';
import { snapshotterPlugins } from './plugins';

for (const p of snapshotterPlugins) register(p);
