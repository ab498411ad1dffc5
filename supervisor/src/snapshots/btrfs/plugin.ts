/**
 * btrfs snapshotter plugin (containerd snapshots/btrfs/plugin): config
 * root_path; skipped (with the reason) when the root is not on btrfs, as
 * containerd's plugin.ErrSkipPlugin.
 */
import { isFailedPrecondition } from '../../../../proto/src/errdefs';
import { rootPath, SkipPlugin, SNAPSHOTTER_PLUGIN_TYPE, type SnapshotterRegistration } from '../plugin-types';
import { BtrfsSnapshotter } from './btrfs';

export const btrfsPlugin: SnapshotterRegistration = {
  type: SNAPSHOTTER_PLUGIN_TYPE,
  id: 'btrfs',
  config: { root_path: '' },
  async init(ic) {
    const root = rootPath(ic);
    if (ic.exports) ic.exports.root = root;
    try {
      return await BtrfsSnapshotter.open(root);
    } catch (err) {
      if (isFailedPrecondition(err)) throw new SkipPlugin((err as Error).message);
      throw err;
    }
  },
};
