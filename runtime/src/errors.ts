/**
 * The runtime's errors. Messages that runc prints are kept word for word:
 * containerd's shim (go-runc), conmon and Podman match on them.
 */
import {
  AlreadyExistsError,
  BerthError,
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

function kindForErrno(errno: number): 'NotFound' | 'InvalidArgument' | 'FailedPrecondition' | 'Internal' {
  if (errno === 2) return 'NotFound';
  if (errno === 22) return 'InvalidArgument';
  if (errno === 1 || errno === 13) return 'FailedPrecondition';
  return 'Internal';
}

const errnoNames: Record<number, [string, string]> = {
  1: ['EPERM', 'operation not permitted'],
  2: ['ENOENT', 'no such file or directory'],
  3: ['ESRCH', 'no such process'],
  4: ['EINTR', 'interrupted system call'],
  5: ['EIO', 'input/output error'],
  9: ['EBADF', 'bad file descriptor'],
  11: ['EAGAIN', 'resource temporarily unavailable'],
  12: ['ENOMEM', 'cannot allocate memory'],
  13: ['EACCES', 'permission denied'],
  16: ['EBUSY', 'device or resource busy'],
  17: ['EEXIST', 'file exists'],
  18: ['EXDEV', 'invalid cross-device link'],
  19: ['ENODEV', 'no such device'],
  20: ['ENOTDIR', 'not a directory'],
  21: ['EISDIR', 'is a directory'],
  22: ['EINVAL', 'invalid argument'],
  24: ['EMFILE', 'too many open files'],
  28: ['ENOSPC', 'no space left on device'],
  30: ['EROFS', 'read-only file system'],
  36: ['ENAMETOOLONG', 'file name too long'],
  38: ['ENOSYS', 'function not implemented'],
  40: ['ELOOP', 'too many levels of symbolic links'],
  95: ['EOPNOTSUPP', 'operation not supported'],
  110: ['ETIMEDOUT', 'connection timed out'],
  125: ['ECANCELED', 'operation canceled'],
};

export function errnoName(errno: number): string {
  return errnoNames[errno]?.[0] ?? `errno ${errno}`;
}

function formatSyscallError(step: string, errno: number, path: string, why: string, detail: string): string {
  const text = errnoNames[errno]?.[1] ?? `errno ${errno}`;
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
