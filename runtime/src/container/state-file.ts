/**
 * The container's state on disk: <root>/<id>/state.json, written atomically
 * (temp file in the same directory, fsync, rename, fsync of the directory —
 * runc's saveState plus the fsyncs), so a crash at any point leaves either the
 * old or the new file, never a torn one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic-file';
import type { CgroupPaths } from '../cgroups/manager';
import type { NamespaceType, Spec } from '../spec/types';

export interface ContainerState {
  id: string;
  bundle: string;
  rootfs: string;
  /** Host pid of the container's init; 0 once it is known to be gone. */
  pid: number;
  /** The init's start time (/proc/<pid>/stat field 22), to tell it from a reused pid. */
  pidStartTime: number;
  created: string;
  owner: string;
  /** The config.json the container was created from (hooks, exec defaults, poststop). */
  config: Spec;
  cgroupPaths: CgroupPaths;
  /** Namespaces the container joined by path (the rest are the init's own). */
  namespacePaths: Partial<Record<NamespaceType, string>>;
  rootless: boolean;
  /** --no-new-keyring at create: exec'd processes do not join the container's session keyring either. */
  noNewKeyring?: boolean;
  /** Set by `pause`, cleared by `resume` (the freezer is the source of truth). */
  paused?: boolean;
}

export const STATE_FILE = 'state.json';

export function saveState(dir: string, state: ContainerState): void {
  writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(state));
}

export function readState(dir: string): ContainerState {
  return JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8')) as ContainerState;
}
