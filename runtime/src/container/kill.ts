/**
 * kill: send a signal to the container's init, or with --all to every process
 * in its cgroup (runc's signalAllProcesses: freeze, signal each, thaw, so none
 * can fork away in between).
 */
import { containerNotRunning } from '../errors';
import { log } from '../logging';
import { Container } from './container';

export function killContainer(root: string, id: string, signal: number, all: boolean): void {
  const c = Container.load(root, id);
  const status = c.status();
  if (status === 'stopped') throw containerNotRunning();
  if (!all) {
    process.kill(c.state.pid, signal);
    return;
  }
  signalAll(c, signal);
}

export function signalAll(c: Container, signal: number): void {
  const cg = c.cgroup();
  let frozen = false;
  try {
    if (c.status() !== 'paused') {
      cg.freeze();
      frozen = true;
    }
  } catch (err) {
    log.warn('cannot freeze the cgroup before signalling', { id: c.id, err });
  }
  try {
    for (const pid of cg.pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        /* exited meanwhile */
      }
    }
  } finally {
    if (frozen) cg.thaw();
  }
}
