/** pause / resume: the freezer (v1 freezer.state, v2 cgroup.freeze), as runc's Pause and Resume. */
import { FailedPreconditionError } from '../../../proto/src/errdefs';
import { containerNotRunning } from '../errors';
import { Container } from './container';
import { lockContainer } from './lock';

export async function pauseContainer(root: string, id: string): Promise<void> {
  const release = await lockContainer(root, id);
  try {
    const c = Container.load(root, id);
    const status = c.status();
    if (status !== 'running' && status !== 'created') throw containerNotRunning();
    c.cgroup().freeze();
    c.state.paused = true;
    c.save();
  } finally {
    release();
  }
}

export async function resumeContainer(root: string, id: string): Promise<void> {
  const release = await lockContainer(root, id);
  try {
    const c = Container.load(root, id);
    if (c.status() !== 'paused') throw new FailedPreconditionError('container not paused');
    c.cgroup().thaw();
    c.state.paused = false;
    c.save();
  } finally {
    release();
  }
}
