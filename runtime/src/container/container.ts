/**
 * A container as the runtime keeps it: its directory under --root, its saved
 * state, and its status derived from the live system (runc's
 * libcontainer/state_linux.go): stopped when the init is gone, created while
 * the exec fifo exists, paused while the freezer holds it, else running.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCgroupManager, type CgroupManager } from '../cgroups';
import { containerNotFound, ErrInvalidID, InvalidArgumentError } from '../errors';
import { OCI_VERSION, type ContainerStatus, type State } from '../spec/types';
import { isSameProcess } from './proc';
import { readState, saveState, type ContainerState } from './state-file';

export const EXEC_FIFO = 'exec.fifo';
/**
 * The cgroup paths, written before the cgroups are made: a create killed
 * before its state.json leaves them on record, and delete removes them.
 */
export const CGROUP_PATHS_FILE = 'cgroup-paths.json';

/** runc's container id check. */
export function validateId(id: string): void {
  if (!/^[\w+.-]+$/.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new InvalidArgumentError(ErrInvalidID);
  }
}

export class Container {
  constructor(
    readonly root: string,
    readonly dir: string,
    public state: ContainerState,
  ) {}

  static load(root: string, id: string): Container {
    validateId(id);
    const dir = path.join(root, id);
    let state: ContainerState;
    try {
      state = readState(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw containerNotFound();
      throw new InvalidArgumentError(`cannot read the state of container ${id}: ${(err as Error).message}`, { cause: err });
    }
    return new Container(root, dir, state);
  }

  static list(root: string): Container[] {
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      return [];
    }
    const out: Container[] = [];
    for (const name of names.sort()) {
      if (name.startsWith('.')) continue;
      try {
        out.push(Container.load(root, name));
      } catch {
        // A directory being created or deleted right now: not a container yet / any more.
      }
    }
    return out;
  }

  get id(): string {
    return this.state.id;
  }

  get fifoPath(): string {
    return path.join(this.dir, EXEC_FIFO);
  }

  cgroup(): CgroupManager {
    return loadCgroupManager(this.state.cgroupPaths);
  }

  /** Whether the init process is still the one this container started. */
  initAlive(): boolean {
    return isSameProcess(this.state.pid, this.state.pidStartTime);
  }

  status(): ContainerStatus {
    if (!this.initAlive()) return 'stopped';
    if (fs.existsSync(this.fifoPath)) return 'created';
    if (this.state.paused && this.cgroup().freezerState() === 'frozen') return 'paused';
    return 'running';
  }

  save(): void {
    saveState(this.dir, this.state);
  }

  /** The OCI state, plus runc's extra fields (rootfs, created, owner) that tools read. */
  ociState(): State & { rootfs: string; created: string; owner: string } {
    const status = this.status();
    const s: State & { rootfs: string; created: string; owner: string } = {
      ociVersion: OCI_VERSION,
      id: this.id,
      pid: status === 'stopped' ? 0 : this.state.pid,
      status,
      bundle: this.state.bundle,
      rootfs: this.state.rootfs,
      created: this.state.created,
      owner: this.state.owner,
    };
    const annotations = this.state.config.annotations;
    if (annotations && Object.keys(annotations).length > 0) s.annotations = annotations;
    return s;
  }

  /** The state given to hooks (runtime-spec: ociVersion, id, status, pid, bundle, annotations). */
  hookState(status: ContainerStatus): State {
    const s: State = { ociVersion: OCI_VERSION, id: this.id, status, pid: this.state.pid, bundle: this.state.bundle };
    if (this.state.config.annotations) s.annotations = this.state.config.annotations;
    return s;
  }
}
