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

  /** Events go out in the caller's namespace (as containerd), or the object's when the call has none. */
  create(ns: Namespace, caller?: string): Namespace {
    const out = this.m.namespaces.create(ns.name, ns.labels ?? {});
    this.events.publishTyped(caller || out.name, '/namespaces/create', 'containerd.events.NamespaceCreate', { name: out.name, labels: out.labels });
    return out;
  }

  update(ns: Namespace, paths: string[], caller?: string): Namespace {
    const out = this.m.namespaces.update(ns.name, ns.labels ?? {}, paths);
    this.events.publishTyped(caller || out.name, '/namespaces/update', 'containerd.events.NamespaceUpdate', { name: out.name, labels: out.labels });
    return out;
  }

  delete(name: string, caller?: string): void {
    this.m.namespaces.delete(name);
    this.events.publishTyped(caller || name, '/namespaces/delete', 'containerd.events.NamespaceDelete', { name });
  }
}
