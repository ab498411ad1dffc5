/**
 * Hooks run by the runtime itself, in the runtime's namespaces: prestart and
 * createRuntime (during create), poststart (after start), poststop (after
 * delete). createContainer and startContainer run inside the container and
 * are steps of the plan. Each hook gets the state JSON on stdin; a timeout
 * kills it (runtime-spec config.md "POSIX-platform Hooks").
 */
import { spawnSync } from 'node:child_process';
import { BerthError } from '../../../proto/src/errdefs';
import type { Hook, HookName, State } from '../spec/types';

export class HookError extends BerthError {
  constructor(message: string) {
    super('FailedPrecondition', message);
  }
}

export function runHooks(name: HookName, hooks: readonly Hook[] | undefined, state: State): void {
  for (const h of hooks ?? []) runHook(name, h, state);
}

export function runHook(name: HookName, h: Hook, state: State): void {
  const [argv0, ...args] = h.args && h.args.length > 0 ? h.args : [h.path];
  const res = spawnSync(h.path, args, {
    argv0,
    input: JSON.stringify(state),
    env: Object.fromEntries((h.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    timeout: h.timeout ? h.timeout * 1000 : undefined,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  // EPIPE: the hook exited without reading its stdin, which is its right; its status decides.
  if (res.error && (res.error as NodeJS.ErrnoException).code !== 'EPIPE') {
    const e = res.error as NodeJS.ErrnoException;
    if (e.code === 'ETIMEDOUT') throw new HookError(`error running ${name} hook ${h.path}: timeout after ${h.timeout}s`);
    throw new HookError(`error running ${name} hook ${h.path}: ${e.message}`);
  }
  if (res.status !== 0) {
    const how = res.signal ? `signal: ${res.signal}` : `exit status ${res.status}`;
    throw new HookError(`error running ${name} hook ${h.path}: ${how}${out ? `, output: ${out}` : ''}`);
  }
}
