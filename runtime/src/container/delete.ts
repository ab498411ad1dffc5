/**
 * delete: remove a container's resources (runtime-spec "delete"): a stopped
 * container is destroyed; a created one is killed first, as runc does; a
 * running or paused one only with --force. Then the poststop hooks run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, isNotFound } from '../../../proto/src/errdefs';
import { log } from '../logging';
import { runHooks } from '../process/hooks';
import { loadCgroupManager, type CgroupManager, type CgroupPaths } from '../cgroups';
import { CGROUP_PATHS_FILE, Container } from './container';
import { killAndWait } from './create';
import { signalAll } from './kill';
import { lockContainer } from './lock';
import { STATE_FILE } from './state-file';

export async function deleteContainer(root: string, id: string, force: boolean): Promise<void> {
  let c: Container;
  try {
    c = Container.load(root, id);
  } catch (err) {
    if (isNotFound(err)) {
      // As runc: a create that died before writing state.json (killed, say) leaves the
      // container's directory without it; delete removes that directory either way, and
      // --force then succeeds. Beyond runc, the cgroups that create recorded before
      // making them go too, with whatever runs in them.
      await removeOrphanDir(root, id);
      if (force) return;
    }
    throw err;
  }
  const release = await lockContainer(root, id);
  try {
    const status = c.status();
    if ((status === 'running' || status === 'paused') && !force) {
      throw new FailedPreconditionError(`cannot delete container ${id} that is not stopped: ${status}`);
    }
    if (status !== 'stopped') {
      const hasPidNs = (c.state.config.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path);
      // Without its own pid namespace, the init's death does not take the others with it.
      if (!hasPidNs) signalAll(c, 9);
      if (status === 'paused') c.cgroup().thaw();
      await killAndWait(c.state.pid);
    }
    destroy(c);
  } finally {
    release();
  }
}

/**
 * The state directory of an id that has no state.json (ids are validated by
 * Container.load), removed under the container's lock: a create still running
 * holds it, and waits until its state.json is written.
 */
async function removeOrphanDir(root: string, id: string): Promise<void> {
  const dir = path.join(root, id);
  if (!fs.existsSync(dir)) return;
  const release = await lockContainer(root, id);
  try {
    if (fs.existsSync(path.join(dir, STATE_FILE))) return;
    removeRecordedCgroups(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    log.warn(`remove ${dir}: ${(err as Error).message}`);
  } finally {
    release();
  }
}

/** The cgroups a create recorded before making them (CGROUP_PATHS_FILE): what runs there is killed, then they go. */
function removeRecordedCgroups(dir: string): void {
  let paths: CgroupPaths;
  try {
    paths = JSON.parse(fs.readFileSync(path.join(dir, CGROUP_PATHS_FILE), 'utf8')) as CgroupPaths;
  } catch {
    return; // none recorded: the create died before it got to its cgroups
  }
  if (Object.keys(paths).length > 0) killAndDestroy(loadCgroupManager(paths));
}

/** SIGKILL to whatever is left in the cgroup (a container without a pid namespace, a dead create), then the cgroup goes. */
function killAndDestroy(cg: CgroupManager): void {
  for (const pid of cg.pids()) {
    try {
      process.kill(pid, 9);
    } catch {
      /* gone */
    }
  }
  cg.destroy();
}

/** Removes the cgroup and the state directory, then runs poststop hooks (failures only logged). */
export function destroy(c: Container): void {
  killAndDestroy(c.cgroup());
  fs.rmSync(c.dir, { recursive: true, force: true });
  try {
    runHooks('poststop', c.state.config.hooks?.poststop, c.hookState('stopped'));
  } catch (err) {
    log.warn('poststop hook failed', { id: c.id, err });
  }
}
