/** google.protobuf.Timestamp as the shim keeps it: seconds + nanoseconds since the epoch. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** The current wall-clock time (millisecond resolution). */
export function now(): Timestamp {
  const ms = Date.now();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function fromDate(d: Date): Timestamp {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** The zero time, what containerd shows for a process that has not exited. */
export const ZERO: Timestamp = Object.freeze({ seconds: 0, nanos: 0 });

export function isZero(t: Timestamp): boolean {
  return t.seconds === 0 && t.nanos === 0;
}
