/** Every snapshotter plugin, for berthd's registry (containerd's builtins). */
import { btrfsPlugin } from './btrfs/plugin';
import { devmapperPlugin } from './devmapper/plugin';
import { nativePlugin } from './native/plugin';
import { overlayPlugin } from './overlay/plugin';
import type { SnapshotterRegistration } from './plugin-types';

export const snapshotterPlugins: SnapshotterRegistration[] = [overlayPlugin, nativePlugin, btrfsPlugin, devmapperPlugin];
