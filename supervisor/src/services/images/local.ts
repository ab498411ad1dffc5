/** Images logic: the image store, events, and GC after delete (awaited when sync). */
import type { Exchange } from '../../events/exchange';
import type { GCScheduler } from '../../metadata/gc';
import type { Image } from '../../metadata/images';
import type { Metadata } from '../../metadata/plugin';

export class ImagesLocal {
  constructor(
    private readonly m: Metadata,
    private readonly events: Exchange,
    private readonly gc: GCScheduler,
  ) {}

  get(ns: string, name: string): Image {
    return this.m.images.get(ns, name);
  }

  list(ns: string, filters: string[]): Image[] {
    return this.m.images.list(ns, filters);
  }

  create(ns: string, img: Image): Image {
    const out = this.m.images.create(ns, img);
    this.events.publishTyped(ns, '/images/create', 'containerd.services.images.v1.ImageCreate', { name: out.name, labels: out.labels });
    return out;
  }

  update(ns: string, img: Image, paths: string[]): Image {
    const out = this.m.images.update(ns, img, paths);
    this.events.publishTyped(ns, '/images/update', 'containerd.services.images.v1.ImageUpdate', { name: out.name, labels: out.labels });
    return out;
  }

  async delete(ns: string, name: string, sync: boolean): Promise<void> {
    this.m.images.delete(ns, name);
    this.events.publishTyped(ns, '/images/delete', 'containerd.services.images.v1.ImageDelete', { name });
    if (sync) await this.gc.scheduleAndWait();
  }
}
