/**
 * The core plugins under the services: the content store on disk
 * (io.containerd.content.v1 content), the metadata store
 * (io.containerd.metadata.v1 lmdb), the event exchange and the GC scheduler.
 */
import * as path from 'node:path';
import { LocalStore } from '../content/local-store';
import { Exchange } from '../events/exchange';
import { PluginType, register } from '../daemon/plugins';
import { ContainerStore } from './containers';
import { ContentStore } from './content';
import { MetadataDB } from './db';
import { GarbageCollector, GCScheduler } from './gc';
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
  requires: [PluginType.Metadata],
  config: { schedule_delay: '100ms' },
  init: (ic) => {
    const m = ic.get<Metadata>(PluginType.Metadata);
    const raw = String(ic.config.schedule_delay ?? '100ms');
    const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(raw);
    const delay = match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : 100;
    return new GCScheduler(m.gc, delay, ic.log);
  },
});
