/** containerd's label rules and the garbage collection labels (labels/validate.go, metadata/gc.go). */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

export const LABEL_GC_ROOT = 'containerd.io/gc.root';
export const LABEL_GC_SNAP_REF = 'containerd.io/gc.ref.snapshot.';
export const LABEL_GC_CONTENT_REF = 'containerd.io/gc.ref.content';
export const LABEL_GC_EXPIRE = 'containerd.io/gc.expire';
export const LABEL_GC_FLAT = 'containerd.io/gc.flat';
/** The committed snapshot an unpack is making (the "target"; unpacker.go labelSnapshotRef). */
export const LABEL_SNAPSHOT_REF = 'containerd.io/snapshot.ref';
/** Snapshot labels with this prefix reach the backend (snapshots.FilterInheritedLabels). */
export const INHERITED_LABEL_PREFIX = 'containerd.io/snapshot/';
/** A layer blob's uncompressed digest (its diff ID). */
export const LABEL_UNCOMPRESSED = 'containerd.io/uncompressed';

const maxSize = 4096;

/** A key and value together may not exceed 4096 bytes (labels.Validate). */
export function validateLabels(labels: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (Buffer.byteLength(k) + Buffer.byteLength(v) > maxSize) {
      throw new InvalidArgumentError(`label key and value greater than maximum size (${maxSize} bytes), key: ${k.slice(0, 10)}: invalid argument`);
    }
    out[k] = v;
  }
  return out;
}

/**
 * Applies field-mask paths to labels as containerd does: "labels" replaces the
 * set, "labels.<key>" sets or (when absent in `next`) removes one key.
 * Returns undefined when no path touches labels.
 */
export function applyLabelPaths(cur: Record<string, string>, next: Record<string, string>, paths: string[]): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const p of paths) {
    if (p === 'labels') {
      out = { ...next };
    } else if (p.startsWith('labels.')) {
      const key = p.slice('labels.'.length);
      out = out ?? { ...cur };
      if (key in next) out[key] = next[key];
      else delete out[key];
    }
  }
  return out;
}
