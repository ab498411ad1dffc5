/**
 * Errors on the ttrpc wire: a google.rpc.Status {code, message}.
 *
 * The kinds and their codes belong to proto/src/errdefs.ts; this module only
 * converts between a thrown error and a Status, once per call (the way
 * containerd's services call errdefs.ToGRPC / FromGRPC).
 */
import { GrpcCode, codeToKind, toGrpcCode } from '../../../proto/src/errdefs';
import type { Status } from './framing';

/**
 * A non-OK status received from a peer. It has `code` and `details` like a
 * grpc-js ServiceError, so errdefs' kindOf()/isNotFound() understand it.
 */
export class TtrpcStatusError extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, message: string) {
    super(message);
    this.name = 'TtrpcStatusError';
    this.code = code;
    this.details = message;
  }

  /** The errdefs kind of the code, if it has one. */
  get kind(): string | undefined {
    return codeToKind(this.code);
  }
}

/** The Status to send for an error thrown by a handler. */
export function statusFromError(err: unknown): Status {
  const message = err instanceof Error ? err.message : String(err);
  return { code: toGrpcCode(err), message, details: [] };
}

export function statusError(code: number, message: string): TtrpcStatusError {
  return new TtrpcStatusError(code, message);
}

export { GrpcCode };
