/** Error kinds the devmapper code uses (re-exported from the one owner). */
import { BerthError } from '../../../../proto/src/errdefs';
export { AlreadyExistsError, FailedPreconditionError, NotFoundError, InvalidArgumentError } from '../../../../proto/src/errdefs';

export class ResourceExhaustedError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ResourceExhausted', message, options);
  }
}
