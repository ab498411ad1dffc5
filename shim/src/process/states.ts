/**
 * The life cycle of a task's processes, as tables (containerd
 * pkg/process/init_state.go, exec_state.go, deleted_state.go): for each
 * operation, the statuses that allow it and the refusal for the others.
 * Refusals keep containerd's wording; their kind is FailedPrecondition, or
 * NotFound once the process is deleted (where containerd says ErrNotFound).
 */
import { FailedPreconditionError, NotFoundError } from '../../../proto/src/errdefs';

export type Status = 'created' | 'running' | 'paused' | 'stopped' | 'deleted';
export type Op = 'start' | 'delete' | 'pause' | 'resume' | 'update' | 'exec' | 'kill' | 'resize';

/** null: allowed. A string: the refusal. */
type Rules = Record<Op, Record<Status, string | null>>;

export const INIT_RULES: Rules = {
  start: {
    created: null, running: 'cannot start a running process', paused: 'cannot start a paused process',
    stopped: 'cannot start a stopped process', deleted: 'cannot start a deleted process',
  },
  delete: {
    created: null, running: 'cannot delete a running process', paused: 'cannot delete a paused process',
    stopped: null, deleted: 'cannot delete a deleted process',
  },
  pause: {
    created: 'cannot pause task in created state', running: null, paused: 'cannot pause a paused container',
    stopped: 'cannot pause a stopped container', deleted: 'cannot pause a deleted process',
  },
  resume: {
    created: 'cannot resume task in created state', running: 'cannot resume a running process', paused: null,
    stopped: 'cannot resume a stopped container', deleted: 'cannot resume a deleted process',
  },
  update: {
    created: null, running: null, paused: null,
    stopped: 'cannot update a stopped container', deleted: 'cannot update a deleted process',
  },
  exec: {
    created: null, running: null, paused: 'cannot exec in a paused state',
    stopped: 'cannot exec in a stopped state', deleted: 'cannot exec in a deleted state',
  },
  kill: { created: null, running: null, paused: null, stopped: null, deleted: 'cannot kill a deleted process' },
  resize: { created: null, running: null, paused: null, stopped: null, deleted: 'cannot resize a deleted process' },
};

export const EXEC_RULES: Rules = {
  start: {
    created: null, running: 'cannot start a running process', paused: 'cannot start a paused process',
    stopped: 'cannot start a stopped process', deleted: 'cannot start a deleted process',
  },
  delete: {
    created: null, running: 'cannot delete a running process', paused: 'cannot delete a paused process',
    stopped: null, deleted: 'cannot delete a deleted process',
  },
  pause: { created: 'cannot pause an exec process', running: 'cannot pause an exec process', paused: 'cannot pause an exec process', stopped: 'cannot pause an exec process', deleted: 'cannot pause a deleted process' },
  resume: { created: 'cannot resume an exec process', running: 'cannot resume an exec process', paused: 'cannot resume an exec process', stopped: 'cannot resume an exec process', deleted: 'cannot resume a deleted process' },
  update: { created: 'cannot update an exec process', running: 'cannot update an exec process', paused: 'cannot update an exec process', stopped: 'cannot update an exec process', deleted: 'cannot update a deleted process' },
  exec: { created: 'cannot exec from an exec process', running: 'cannot exec from an exec process', paused: 'cannot exec from an exec process', stopped: 'cannot exec from an exec process', deleted: 'cannot exec in a deleted state' },
  kill: { created: null, running: null, paused: null, stopped: null, deleted: 'cannot kill a deleted process' },
  resize: {
    created: null, running: null, paused: null, stopped: 'cannot resize a stopped container',
    deleted: 'cannot resize a deleted process',
  },
};

/** Throws the refusal for `op` in `status`, if any. */
export function check(rules: Rules, op: Op, status: Status): void {
  const refusal = rules[op][status];
  if (refusal === null) return;
  if (status === 'deleted' && (op === 'delete' || op === 'kill')) throw new NotFoundError(refusal);
  throw new FailedPreconditionError(refusal);
}

/** The legal transitions, for setStatus() to assert. */
const TRANSITIONS: Record<Status, Status[]> = {
  created: ['running', 'stopped', 'deleted'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: ['deleted'],
  deleted: [],
};

export function canTransition(from: Status, to: Status): boolean {
  return TRANSITIONS[from].includes(to);
}
