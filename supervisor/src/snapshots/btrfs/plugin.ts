/**
 * btrfs snapshotter plugin (containerd snapshots/btrfs/plugin): config
 * root_path; skipped (with the reason) when the root is not on btrfs, as
 * containerd's plugin.ErrSkipPlugin.
 */
import { isFailedPrecondition } from '../../../../proto/src/errdefs';
import { skip } from '../../daemon/plugins';
import { hostPlatforms, rootPath, SNAPSHOTTER_PLUGIN_TYPE, type SnapshotterRegistration } from '../plugin-types';
import { BtrfsSnapshotter } from './btrfs';

export const btrfsPlugin: SnapshotterRegistration = {
  type: SNAPSHOTTER_PLUGIN_TYPE,
  platforms: hostPlatforms(),
  id: 'btrfs',
  config: { root_path: '' },
  async init(ic) {
    const root = rootPath(ic);
    if (ic.exports) ic.exports.root = root;
    try {
      return await BtrfsSnapshotter.open(root);
    } catch (err) {
      if (isFailedPrecondition(err)) skip((err as Error).message);
      throw err;
    }
  },
};
