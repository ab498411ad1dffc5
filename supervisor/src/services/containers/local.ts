/** Containers logic: the container store and its events. */
import type { Exchange } from '../../events/exchange';
import type { Container } from '../../metadata/containers';
import type { Metadata } from '../../metadata/plugin';

export class ContainersLocal {
  constructor(
    private readonly m: Metadata,
    private readonly events: Exchange,
  ) {}

  get(ns: string, id: string): Container {
    return this.m.containers.get(ns, id);
  }

  list(ns: string, filters: string[]): Container[] {
    return this.m.containers.list(ns, filters);
  }

  create(ns: string, c: Container): Container {
    const out = this.m.containers.create(ns, c);
    this.events.publishTyped(ns, '/containers/create', 'containerd.events.ContainerCreate', {
      id: out.id,
      image: out.image,
      runtime: { name: out.runtime.name, options: out.runtime.options },
    });
    return out;
  }

  update(ns: string, c: Container, paths: string[]): Container {
    const out = this.m.containers.update(ns, c, paths);
    this.events.publishTyped(ns, '/containers/update', 'containerd.events.ContainerUpdate', {
      id: out.id,
      image: out.image,
      labels: out.labels,
      snapshotKey: out.snapshotKey,
    });
    return out;
  }

  delete(ns: string, id: string): void {
    this.m.containers.delete(ns, id);
    this.events.publishTyped(ns, '/containers/delete', 'containerd.events.ContainerDelete', { id });
  }
}
