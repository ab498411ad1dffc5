/**
 * The shape of a snapshotter plugin: the daemon's Registration
 * (supervisor/src/daemon/plugins.ts) with an init that needs only the part of
 * the InitContext a snapshotter uses, so a test can open a plugin without a
 * daemon. A plugin that cannot run here calls the daemon's skip(reason)
 * (containerd's ErrSkipPlugin); introspection shows the reason.
 */
import { arch } from 'node:os';
import { PluginType, type InitContext, type Platform, type Registration } from '../daemon/plugins';
import type { Snapshotter } from './snapshotter';

export const SNAPSHOTTER_PLUGIN_TYPE = PluginType.Snapshot;

export type SnapshotterInitContext = Pick<InitContext, 'root' | 'config'> & Partial<Pick<InitContext, 'exports'>>;

export interface SnapshotterRegistration extends Registration<Snapshotter> {
  init(ic: SnapshotterInitContext): Promise<Snapshotter>;
}

/** The platform a snapshotter serves (containerd: platforms.DefaultSpec()). */
export const hostPlatforms = (): Platform[] => [{ os: 'linux', architecture: ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[arch()] ?? arch(), variant: '' }];

/** root_path from the config, else the plugin's own directory. */
export const rootPath = (ic: SnapshotterInitContext): string => (typeof ic.config.root_path === 'string' && ic.config.root_path) || ic.root;
