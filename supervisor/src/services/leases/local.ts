/** Leases logic: the lease manager, GC after delete (awaited when sync). */
import type { GCScheduler } from '../../metadata/gc';
import type { Lease, LeaseResource } from '../../metadata/leases';
import type { Metadata } from '../../metadata/plugin';

export class LeasesLocal {
  constructor(
    private readonly m: Metadata,
    private readonly gc: GCScheduler,
  ) {}

  create(ns: string, id: string, labels: Record<string, string>): Lease {
    return this.m.leases.create(ns, id, labels);
  }

  async delete(ns: string, id: string, sync: boolean): Promise<void> {
    this.m.leases.delete(ns, id);
    if (sync) await this.gc.scheduleAndWait();
  }

  list(ns: string, filters: string[]): Lease[] {
    return this.m.leases.list(ns, filters);
  }

  addResource(ns: string, id: string, r: LeaseResource): void {
    this.m.leases.addResource(ns, id, r);
  }

  deleteResource(ns: string, id: string, r: LeaseResource): void {
    this.m.leases.deleteResource(ns, id, r);
  }

  listResources(ns: string, id: string): LeaseResource[] {
    return this.m.leases.listResources(ns, id);
  }
}
