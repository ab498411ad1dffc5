/**
 * The error kinds shared by every berth component, mirroring containerd/errdefs.
 *
 * This module is the single owner of the kinds and of their mapping to gRPC
 * status codes (the mapping is part of the wire: ctr and containerd's clients
 * branch on the code). It has no dependencies so that the runtime, whose
 * start-up time matters, can import it for free.
 */

/** The closed set of error kinds (errdefs.ErrNotFound, ErrAlreadyExists, ...). */
export type ErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'Unavailable'
  | 'NotImplemented'
  | 'Internal'
  | 'Canceled'
  | 'DeadlineExceeded'
  | 'ResourceExhausted'
  | 'PermissionDenied';

/** gRPC status codes (google.rpc.Code), so that this module needs no gRPC import. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const kindToCode: Record<ErrorKind, number> = {
  NotFound: GrpcCode.NOT_FOUND,
  AlreadyExists: GrpcCode.ALREADY_EXISTS,
  InvalidArgument: GrpcCode.INVALID_ARGUMENT,
  FailedPrecondition: GrpcCode.FAILED_PRECONDITION,
  Unavailable: GrpcCode.UNAVAILABLE,
  NotImplemented: GrpcCode.UNIMPLEMENTED,
  Internal: GrpcCode.INTERNAL,
  Canceled: GrpcCode.CANCELLED,
  DeadlineExceeded: GrpcCode.DEADLINE_EXCEEDED,
  ResourceExhausted: GrpcCode.RESOURCE_EXHAUSTED,
  PermissionDenied: GrpcCode.PERMISSION_DENIED,
};

/** The base class of every error berth raises on purpose. */
export class BerthError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = `${kind}Error`;
  }
}

export class NotFoundError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NotFound', message, options);
  }
}
export class AlreadyExistsError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AlreadyExists', message, options);
  }
}
export class InvalidArgumentError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('InvalidArgument', message, options);
  }
}
export class FailedPreconditionError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FailedPrecondition', message, options);
  }
}
export class UnavailableError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Unavailable', message, options);
  }
}
export class NotImplementedError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NotImplemented', message, options);
  }
}
export class InternalError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('Internal', message, options);
  }
}

/** The kind of an error, found by walking `cause`; undefined when none is a BerthError. */
export function kindOf(err: unknown): ErrorKind | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 32; depth++) {
    if (e instanceof BerthError) return e.kind;
    if (isGrpcLike(e)) return codeToKind(e.code);
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isNotFound = (err: unknown): boolean => kindOf(err) === 'NotFound';
export const isAlreadyExists = (err: unknown): boolean => kindOf(err) === 'AlreadyExists';
export const isInvalidArgument = (err: unknown): boolean => kindOf(err) === 'InvalidArgument';
export const isFailedPrecondition = (err: unknown): boolean => kindOf(err) === 'FailedPrecondition';
export const isUnavailable = (err: unknown): boolean => kindOf(err) === 'Unavailable';
export const isNotImplemented = (err: unknown): boolean => kindOf(err) === 'NotImplemented';

/** The gRPC status code for an error (UNKNOWN when it has no kind), as errdefs.ToGRPC. */
export function toGrpcCode(err: unknown): number {
  const kind = kindOf(err);
  return kind ? kindToCode[kind] : GrpcCode.UNKNOWN;
}

/** The kind a gRPC status code stands for, as errdefs.FromGRPC. */
export function codeToKind(code: number): ErrorKind | undefined {
  for (const [kind, c] of Object.entries(kindToCode)) {
    if (c === code) return kind as ErrorKind;
  }
  return undefined;
}

/** Turns a gRPC status (code + details) received from a peer back into a BerthError. */
export function fromGrpc(code: number, details: string, cause?: unknown): Error {
  const kind = codeToKind(code);
  return kind ? new BerthError(kind, details, { cause }) : new Error(details, { cause });
}

function isGrpcLike(e: unknown): e is { code: number; details?: string } {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'number' &&
    'details' in e;
}
