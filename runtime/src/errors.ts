/**
 * The runtime's errors. Messages that runc prints are kept word for word:
 * containerd's shim (go-runc), conmon and Podman match on them.
 */
import * as util from 'node:util';
import {
  AlreadyExistsError,
  BerthError,
  type ErrorKind,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '../../proto/src/errdefs';

// runc libcontainer/error.go — shims match on these strings.
export const ErrNotExist = 'container does not exist';
export const ErrExist = 'container with given ID already exists';
export const ErrNotRunning = 'container not running';
export const ErrRunning = 'container still running';
export const ErrPaused = 'container paused';
export const ErrInvalidID = 'invalid container ID format';

export const containerNotFound = () => new NotFoundError(ErrNotExist);
export const containerExists = () => new AlreadyExistsError(ErrExist);
export const containerNotRunning = () => new FailedPreconditionError(ErrNotRunning);

/** A config.json (or flag) that cannot be used; the message says which field and why. */
export class ConfigError extends InvalidArgumentError {}

/** The native init reported that a step failed: which step, the errno, the path. */
export class SyscallError extends BerthError {
  constructor(
    readonly step: string,
    readonly errno: number,
    readonly path: string,
    readonly why: string,
    detail: string,
  ) {
    super(kindForErrno(errno), formatSyscallError(step, errno, path, why, detail));
  }
}

function kindForErrno(errno: number): ErrorKind {
  switch (errnoName(errno)) {
    case 'ENOENT':
      return 'NotFound';
    case 'EINVAL':
    case 'E2BIG':
      return 'InvalidArgument';
    case 'EPERM':
    case 'EACCES':
    case 'EBUSY':
    case 'EEXIST':
      return 'FailedPrecondition';
    case 'ENOSYS':
    case 'EOPNOTSUPP':
      return 'NotImplemented';
    default:
      return 'Internal';
  }
}

let errnoMap: Map<number, [string, string]> | undefined;

/** errno → [name, message], from libuv's table (util.getSystemErrorMap keys are negative). */
function errnoInfo(errno: number): [string, string] | undefined {
  errnoMap ??= util.getSystemErrorMap();
  return errnoMap.get(-errno);
}

/** "ENOENT" for 2; "errno 999" for an unknown number. */
export function errnoName(errno: number): string {
  return errnoInfo(errno)?.[0] ?? `errno ${errno}`;
}

function formatSyscallError(step: string, errno: number, path: string, why: string, detail: string): string {
  const text = errnoInfo(errno)?.[1] ?? `errno ${errno}`;
  const where = path ? ` ${JSON.stringify(path)}` : '';
  // e.g. `mount "/proc" (mount proc): EPERM: operation not permitted`
  if (step === 'lookup' && errno === 2) return `exec: ${JSON.stringify(path)}: executable file not found in $PATH`;
  if (step === 'mount' && errno === 18 && detail) {
    return `mount target ${JSON.stringify(path)} resolves to ${JSON.stringify(detail)}: possible symlink escape`;
  }
  // Hooks run by the init: the same wording as the runtime's own hooks (process/hooks.ts).
  if (step === 'hook') return `error running ${why}: ${errno === 110 ? `timeout: ${detail}` : detail}`;
  return `${why || step}${where}: ${errnoName(errno)}: ${text}`;
}

export { BerthError, NotFoundError, AlreadyExistsError, FailedPreconditionError, InvalidArgumentError };
