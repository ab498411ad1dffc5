/** Namespaces logic: the store plus events on every change. */
import type { Exchange } from '../../events/exchange';
import type { Metadata } from '../../metadata/plugin';
import type { Namespace } from '../../metadata/namespaces';

export class NamespacesLocal {
  constructor(
    private readonly m: Metadata,
    private readonly events: Exchange,
  ) {}

  get(name: string): Namespace {
    return this.m.namespaces.get(name);
  }

  list(): Namespace[] {
    return this.m.namespaces.list();
  }

  create(ns: Namespace): Namespace {
    const out = this.m.namespaces.create(ns.name, ns.labels ?? {});
    this.events.publishTyped(out.name, '/namespaces/create', 'containerd.events.NamespaceCreate', { name: out.name, labels: out.labels });
    return out;
  }

  update(ns: Namespace, paths: string[]): Namespace {
    const out = this.m.namespaces.update(ns.name, ns.labels ?? {}, paths);
    this.events.publishTyped(out.name, '/namespaces/update', 'containerd.events.NamespaceUpdate', { name: out.name, labels: out.labels });
    return out;
  }

  delete(name: string): void {
    this.m.namespaces.delete(name);
    this.events.publishTyped(name, '/namespaces/delete', 'containerd.events.NamespaceDelete', { name });
  }
}
