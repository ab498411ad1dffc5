/**
 * The shape of a snapshotter plugin registration, structurally the daemon's
 * Registration (supervisor/src/daemon/plugins.ts: {type, id, requires, config,
 * init}), so that berthd registers these objects as they are. A plugin that
 * cannot run here throws SkipPlugin (containerd's ErrSkipPlugin); at merge
 * this class gives way to the daemon's own SkipPlugin/skip().
 */
import type { Snapshotter } from './snapshotter';

export const SNAPSHOTTER_PLUGIN_TYPE = 'io.containerd.snapshotter.v1';

export interface SnapshotterInitContext {
  /** <daemon root>/io.containerd.snapshotter.v1.<id>, the default root_path. */
  root: string;
  /** The plugin's defaults overlaid with [plugins."io.containerd.snapshotter.v1.<id>"]. */
  config: Record<string, unknown>;
  /** Published to introspection. */
  exports?: Record<string, string>;
}

export interface SnapshotterRegistration {
  type: typeof SNAPSHOTTER_PLUGIN_TYPE;
  id: string;
  requires?: string[];
  config?: Record<string, unknown>;
  init(ic: SnapshotterInitContext): Promise<Snapshotter>;
}

export class SkipPlugin extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipPlugin';
  }
}

/** root_path from the config, else the plugin's own directory. */
export const rootPath = (ic: SnapshotterInitContext): string => (typeof ic.config.root_path === 'string' && ic.config.root_path) || ic.root;
