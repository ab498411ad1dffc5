/**
 * Snapshot types on the wire (containerd.services.snapshots.v1 Info, Kind,
 * containerd.types.Mount) ↔ the Snapshotter interface's: shared by berthd's
 * Snapshots service and the client that drives a daemon's snapshotters.
 */
import { dateToTimestamp, type Timestamp } from '../services/grpc-util';
import { isKind, type Info, type Kind, type Mount } from './snapshotter';

export interface PbInfo {
  name: string;
  parent: string;
  kind: string;
  createdAt: Timestamp | null;
  updatedAt: Timestamp | null;
  labels: Record<string, string>;
}

const KIND_TO_PB: Record<Kind, string> = { view: 'VIEW', active: 'ACTIVE', committed: 'COMMITTED' };

export const fromTimestamp = (t: Timestamp | null | undefined): Date => new Date(Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6));

export function infoToProto(i: Info): PbInfo {
  return { name: i.name, parent: i.parent, kind: KIND_TO_PB[i.kind], createdAt: dateToTimestamp(i.created), updatedAt: dateToTimestamp(i.updated), labels: i.labels };
}

export function infoFromProto(p: PbInfo): Info {
  const k = (p.kind ?? '').toLowerCase();
  return {
    name: p.name,
    parent: p.parent,
    kind: isKind(k) ? k : 'active',
    labels: { ...(p.labels ?? {}) },
    created: fromTimestamp(p.createdAt),
    updated: fromTimestamp(p.updatedAt),
  };
}

export const mountsToProto = (ms: Mount[]): Array<Required<Mount>> => ms.map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options ?? [] }));

export const mountsFromProto = (ms: Mount[] | null | undefined): Mount[] => (ms ?? []).map((m) => ({ type: m.type, source: m.source, target: m.target ?? '', options: m.options ?? [] }));
