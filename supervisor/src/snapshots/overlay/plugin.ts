/**
 * overlayfs snapshotter plugin (containerd snapshots/overlay/plugin): config
 * root_path and sync_remove; skipped where the kernel has no overlay filesystem.
 */
import * as fs from 'node:fs';
import { skip } from '../../daemon/plugins';
import { hostPlatforms, rootPath, SNAPSHOTTER_PLUGIN_TYPE, type SnapshotterRegistration } from '../plugin-types';
import { OverlaySnapshotter } from './overlay';

export const overlayPlugin: SnapshotterRegistration = {
  type: SNAPSHOTTER_PLUGIN_TYPE,
  platforms: hostPlatforms(),
  id: 'overlayfs',
  config: { root_path: '', sync_remove: false },
  async init(ic) {
    if (!fs.readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.trim().endsWith('overlay'))) {
      skip('overlayfs is not supported by the kernel (no overlay in /proc/filesystems)');
    }
    const root = rootPath(ic);
    if (ic.exports) ic.exports.root = root;
    return OverlaySnapshotter.open({ root, syncRemove: ic.config.sync_remove === true });
  },
};
