/**
 * devmapper snapshotter plugin (containerd snapshots/devmapper/plugin): config
 * keys as containerd's (root_path, pool_name, base_image_size, fs_type,
 * fs_options) plus berth's pool creation keys (data_device, meta_device,
 * data_file_size, meta_file_size, block_size_sectors). Skipped when not
 * configured (no pool_name) or without device-mapper.
 */
import * as fs from 'node:fs';
import { skip } from '../../daemon/plugins';
import { hostPlatforms, rootPath, SNAPSHOTTER_PLUGIN_TYPE, type SnapshotterRegistration } from '../plugin-types';
import type { DevmapperConfig } from './config';
import { DevmapperSnapshotter } from './devmapper';

export const devmapperPlugin: SnapshotterRegistration = {
  type: SNAPSHOTTER_PLUGIN_TYPE,
  platforms: hostPlatforms(),
  id: 'devmapper',
  config: { root_path: '', pool_name: '', base_image_size: '' },
  async init(ic) {
    const c = { ...ic.config, root_path: rootPath(ic) } as unknown as DevmapperConfig;
    if (!c.pool_name) skip('devmapper not configured (no pool_name)');
    if (!fs.existsSync('/dev/mapper/control')) skip('no /dev/mapper/control (device-mapper is not available)');
    if (ic.exports) ic.exports.root = c.root_path;
    return DevmapperSnapshotter.open(c);
  },
};
