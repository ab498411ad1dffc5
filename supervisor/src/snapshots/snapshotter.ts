/**
 * The Snapshotter interface (containerd core/snapshots/snapshotter.go).
 *
 * Words as upstream: a `key` names an active or view snapshot, a `name` a
 * committed one, and `parent` is always the name of a committed snapshot ("" for
 * none). Backends return Mount[] as data and never mount; they know nothing of
 * namespaces (supervisor/src/metadata wraps them).
 */
import { labelField, type Adaptor } from '../filters/filters';
import type { Mount } from '../mount/types';

export type { Mount };

/** The kind of a snapshot: an active one is writable, a view read-only, a committed one an immutable parent. */
export type Kind = 'active' | 'view' | 'committed';

export const KINDS: readonly Kind[] = ['active', 'view', 'committed'];

/** What Stat, Update and Walk return (snapshots.Info). */
export interface Info {
  kind: Kind;
  /** The key of an active/view snapshot, the name of a committed one. */
  name: string;
  /** The name of the parent committed snapshot, "" when none. */
  parent: string;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

/** Resources taken by a snapshot, without its parents (snapshots.Usage). */
export interface Usage {
  /** Bytes of disk used. */
  size: number;
  /** Number of inodes. */
  inodes: number;
}

/** Options of Prepare, View and Commit (snapshots.Opt: WithLabels). */
export interface SnapshotOpts {
  labels?: Record<string, string>;
}

/** A Walk callback; returning a rejected promise stops the walk. */
export type WalkFunc = (info: Info) => void | Promise<void>;

export interface Snapshotter {
  /** Info of the snapshot `key` (active/view key or committed name); NotFound if unknown. */
  stat(key: string): Promise<Info>;
  /**
   * Updates the mutable fields of a snapshot. With no fieldpaths, labels are
   * replaced (other fields ignored); "labels.<k>" patches one label, "labels"
   * replaces the set; anything else (e.g. "parent") is InvalidArgument.
   */
  update(info: Info, ...fieldpaths: string[]): Promise<Info>;
  /** Disk usage of the snapshot itself (not of its parents). */
  usage(key: string): Promise<Usage>;
  /** The mounts of an active or view snapshot, again. */
  mounts(key: string): Promise<Mount[]>;
  /** A new active snapshot `key` on top of the committed `parent` ("" for empty). */
  prepare(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]>;
  /** A new read-only view `key` of the committed `parent`. */
  view(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]>;
  /** Turns the active snapshot `key` into the committed snapshot `name`; `key` is gone after. */
  commit(name: string, key: string, opts?: SnapshotOpts): Promise<void>;
  /** Removes a snapshot; FailedPrecondition while it has children. */
  remove(key: string): Promise<void>;
  /**
   * Calls fn for each snapshot matching any of the filters (containerd filter
   * syntax: `name==x,labels.l` — a comma is AND, separate filters are OR).
   */
  walk(fn: WalkFunc, ...filters: string[]): Promise<void>;
  /** Releases the store; idempotent. */
  close(): Promise<void>;
  /** Removes directories (and devices) no snapshot refers to any more (snapshots.Cleaner). */
  cleanup?(): Promise<void>;
}

export function isKind(s: string): s is Kind {
  return (KINDS as readonly string[]).includes(s);
}

/**
 * The filter fields of a snapshot (containerd metadata/adaptors.go
 * adaptSnapshot): kind, name and parent are always present (so `parent==""`
 * matches a base layer), labels.<key> when set.
 */
export function adaptSnapshot(info: Info): Adaptor {
  return (fp) => {
    switch (fp[0]) {
      case 'kind':
        return [info.kind, true];
      case 'name':
        return [info.name, true];
      case 'parent':
        return [info.parent, true];
      case 'labels':
        return labelField(info.labels, fp.slice(1));
      default:
        return ['', false];
    }
  };
}
