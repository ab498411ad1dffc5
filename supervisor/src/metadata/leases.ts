/**
 * Leases (containerd's metadata/leases.go): a lease is a GC root for the
 * resources added to it (content, ingests, snapshots/<snapshotter>) until it
 * is deleted or its containerd.io/gc.expire label passes.
 */
import * as crypto from 'node:crypto';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, NotImplementedError } from '../../../proto/src/errdefs';
import { adapt, parseAll } from '../filters/filters';
import { now, type Timestamp } from '../services/grpc-util';
import type { MetadataDB } from './db';
import { validateLabels } from './labels';

export interface Lease {
  id: string;
  createdAt: Timestamp;
  labels: Record<string, string>;
}

export interface LeaseResource {
  id: string;
  /** "content", "ingests" or "snapshots/<snapshotter>". */
  type: string;
}

const leaseKey = (ns: string, id: string) => ['v1', ns, 'leases', id];

function checkResource(r: LeaseResource): void {
  if (!r.id) throw new InvalidArgumentError('resource id must not be empty: invalid argument');
  if (r.type === 'content' || r.type === 'ingests') return;
  if (r.type.startsWith('snapshots/') && r.type.length > 'snapshots/'.length) return;
  throw new NotImplementedError(`unsupported resource type ${r.type}: not implemented`);
}

/** Adds a resource to a lease inside the caller's transaction; NotFound when the lease is gone. */
export function addLeaseResource(db: MetadataDB, ns: string, lease: string, r: LeaseResource): void {
  checkResource(r);
  if (!db.get(leaseKey(ns, lease))) throw new NotFoundError(`lease ${JSON.stringify(lease)}: not found`);
  db.put([...leaseKey(ns, lease), r.type, r.id], 1);
}

export class LeaseManager {
  constructor(readonly db: MetadataDB) {}

  create(ns: string, id: string, labels: Record<string, string>): Lease {
    if (!id) id = `${Date.now()}-${crypto.randomBytes(6).toString('hex')}`;
    // containerd checks only that the id is set: ctr's generated ids end in base64 ("...-qc_-")
    return this.db.tx(() => {
      this.db.ensureNamespace(ns);
      if (this.db.get(leaseKey(ns, id))) throw new AlreadyExistsError(`lease ${JSON.stringify(id)}: already exists`);
      const lease: Lease = { id, createdAt: now(), labels: validateLabels(labels) };
      this.db.put(leaseKey(ns, id), { createdAt: lease.createdAt, labels: lease.labels });
      return lease;
    });
  }

  delete(ns: string, id: string): void {
    this.db.tx(() => {
      if (!this.db.get(leaseKey(ns, id))) throw new NotFoundError(`lease ${JSON.stringify(id)}: not found`);
      this.db.removeTree(leaseKey(ns, id));
      this.db.markDirty();
    });
  }

  list(ns: string, filters: string[]): Lease[] {
    const f = parseAll(filters);
    const out: Lease[] = [];
    for (const [k, v] of this.db.children<Omit<Lease, 'id'>>(['v1', ns, 'leases'])) {
      const lease = { id: String(k[3]), ...v };
      if (f.match(adapt({ id: lease.id }, lease.labels))) out.push(lease); // containerd's adaptLease: id, labels
    }
    return out;
  }

  addResource(ns: string, id: string, r: LeaseResource): void {
    this.db.tx(() => addLeaseResource(this.db, ns, id, r));
  }

  deleteResource(ns: string, id: string, r: LeaseResource): void {
    checkResource(r);
    this.db.tx(() => {
      if (!this.db.get(leaseKey(ns, id))) throw new NotFoundError(`lease ${JSON.stringify(id)}: not found`);
      this.db.remove([...leaseKey(ns, id), r.type, r.id]);
      this.db.markDirty();
    });
  }

  listResources(ns: string, id: string): LeaseResource[] {
    if (!this.db.get(leaseKey(ns, id))) throw new NotFoundError(`lease ${JSON.stringify(id)}: not found`);
    return [...this.db.children<number>(leaseKey(ns, id), 2)].map(([k]) => ({ type: String(k[4]), id: String(k[5]) }));
  }
}
