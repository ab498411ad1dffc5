/** native snapshotter plugin (containerd snapshots/native/plugin): config root_path. */
import { hostPlatforms, rootPath, SNAPSHOTTER_PLUGIN_TYPE, type SnapshotterRegistration } from '../plugin-types';
import { NativeSnapshotter } from './native';

export const nativePlugin: SnapshotterRegistration = {
  type: SNAPSHOTTER_PLUGIN_TYPE,
  platforms: hostPlatforms(),
  id: 'native',
  config: { root_path: '' },
  async init(ic) {
    const root = rootPath(ic);
    if (ic.exports) ic.exports.root = root;
    return NativeSnapshotter.open(root);
  },
};
