/**
 * The core plugins under the services: the content store on disk
 * (io.containerd.content.v1 content), the metadata store
 * (io.containerd.metadata.v1 lmdb), the event exchange and the GC scheduler.
 */
import * as path from 'node:path';
import { LocalStore } from '../content/local-store';
import { Exchange } from '../events/exchange';
import { PluginConfigError, PluginType, register } from '../daemon/plugins';
import { ContainerStore } from './containers';
import { ContentStore } from './content';
import { MetadataDB } from './db';
import { formatDuration, parseDuration } from '../../../runtime/src/duration';
import { DEFAULT_GC_SCHEDULER, GarbageCollector, GCScheduler, type GCSchedulerConfig } from './gc';
import { ImageStore } from './images';
import { LeaseManager } from './leases';
import { NamespaceStore } from './namespaces';

/** What the metadata plugin gives every service. */
export interface Metadata {
  db: MetadataDB;
  content: ContentStore;
  images: ImageStore;
  containers: ContainerStore;
  leases: LeaseManager;
  namespaces: NamespaceStore;
  gc: GarbageCollector;
  close(): Promise<void>;
}

register({
  type: PluginType.Content,
  id: 'content',
  init: (ic) => {
    ic.exports.root = ic.root;
    return new LocalStore(ic.root);
  },
});

register({
  type: PluginType.Event,
  id: 'exchange',
  init: () => new Exchange(),
});

register<Metadata>({
  type: PluginType.Metadata,
  id: 'lmdb',
  requires: [PluginType.Content],
  init: (ic) => {
    const local = ic.get<LocalStore>(PluginType.Content);
    const db = new MetadataDB(ic.root);
    ic.exports.path = path.join(ic.root, 'meta.lmdb');
    return {
      db,
      content: new ContentStore(db, local),
      images: new ImageStore(db),
      containers: new ContainerStore(db),
      leases: new LeaseManager(db),
      namespaces: new NamespaceStore(db),
      gc: new GarbageCollector(db, local, ic.log.child({ component: 'gc' })),
      close: () => db.close(),
    };
  },
});

register<GCScheduler>({
  type: PluginType.GC,
  id: 'scheduler',
  // After the snapshotters (containerd's metadata plugin wraps them, ours does
  // not): so it closes before them, and a collection in progress ends while
  // the stores it cleans up are open.
  requires: [PluginType.Metadata, PluginType.Snapshot],
  // containerd's defaults, under its names
  config: { pause_threshold: 0.02, deletion_threshold: 0, mutation_threshold: 100, schedule_delay: '0s', startup_delay: '100ms' },
  init: (ic) => {
    const m = ic.get<Metadata>(PluginType.Metadata);
    let cfg: GCSchedulerConfig;
    try {
      cfg = schedulerConfig(ic.config);
    } catch (err) {
      throw new PluginConfigError((err as Error).message, { cause: err });
    }
    const s = new GCScheduler(m.gc, m.db, cfg, ic.log.child({ component: 'gc' }));
    const c = s.config;
    // what containerd exports for this plugin (ctr plugins ls -d)
    Object.assign(ic.exports, {
      PauseThreshold: String(c.pauseThreshold),
      DeletionThreshold: String(c.deletionThreshold),
      MutationThreshold: String(c.mutationThreshold),
      ScheduleDelay: formatDuration(c.scheduleDelayMs),
    });
    return s;
  },
});

/** [plugins."io.containerd.gc.v1.scheduler"] → the scheduler's settings; a value of the wrong type is an error. */
export function schedulerConfig(raw: Record<string, unknown>): GCSchedulerConfig {
  const num = (k: string, d: number): number => {
    const v = raw[k] ?? d;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${k}: want a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const dur = (k: string, d: number): number => {
    const v = raw[k];
    if (v === undefined) return d;
    if (typeof v !== 'string') throw new Error(`${k}: want a duration such as "100ms", got ${JSON.stringify(v)}`);
    try {
      return parseDuration(v);
    } catch (err) {
      throw new Error(`${k}: ${(err as Error).message}`);
    }
  };
  const d = DEFAULT_GC_SCHEDULER;
  return {
    pauseThreshold: num('pause_threshold', d.pauseThreshold),
    deletionThreshold: Math.trunc(num('deletion_threshold', d.deletionThreshold)),
    mutationThreshold: Math.trunc(num('mutation_threshold', d.mutationThreshold)),
    scheduleDelayMs: dur('schedule_delay', d.scheduleDelayMs),
    startupDelayMs: dur('startup_delay', d.startupDelayMs),
  };
}
