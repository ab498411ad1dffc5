/**
 * Runtime failures as the shim reports them: "<what> failed: <the runtime's
 * last logged error>" (containerd's Init.runtimeError). The kind follows the
 * runtime's wording, which callers match on (runc libcontainer/error.go).
 */
import { AlreadyExistsError, BerthError, FailedPreconditionError, NotFoundError } from '../../../proto/src/errdefs';
import { RuntimeError } from '../runtime-client';

export function runtimeError(err: unknown, what: string): Error {
  if (err instanceof BerthError) return err;
  if (!(err instanceof RuntimeError)) return new Error(`${what}: ${(err as Error)?.message ?? err}`, { cause: err });
  const detail = err.runtimeMessage || `${err.message}`;
  const msg = `${what}: ${detail}`;
  if (/container with given ID already exists|already exists/.test(detail)) return new AlreadyExistsError(msg, { cause: err });
  if (/container does not exist|does not exist/.test(detail) && !/exec:|executable file/.test(detail)) {
    return new NotFoundError(msg, { cause: err });
  }
  if (/container not running|not paused|not running|is paused|cannot start/.test(detail)) {
    return new FailedPreconditionError(msg, { cause: err });
  }
  return new Error(msg, { cause: err });
}
