/** Progress of a transfer, reported per blob (berthctl draws it). */
export interface ProgressEvent {
  /** A short name for the blob: its digest, or a path in the archive. */
  id: string;
  kind: 'index' | 'manifest' | 'config' | 'layer' | 'blob';
  status: 'waiting' | 'downloading' | 'uploading' | 'writing' | 'exists' | 'done' | 'resumed';
  /** Bytes done so far and in all (0 when unknown). */
  current: number;
  total: number;
}

export type ProgressFn = (e: ProgressEvent) => void;

export const noProgress: ProgressFn = () => undefined;
