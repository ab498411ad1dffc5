/**
 * The cgroup manager: one interface over cgroup v1 (and hybrid) and v2, as
 * opencontainers/cgroups' Manager. The runtime's lifecycle code uses only this;
 * v1/ and v2/ hold one file per controller.
 *
 * Everything here runs in the runtime's own (Node) process: cgroup control is
 * plain file writes. Only the v2 device filter needs the native part (a BPF
 * program attached to the cgroup directory).
 */
import type { LinuxResources } from '../spec/types';

/** How the host mounts cgroups: v1 only, v1 plus an (often empty) cgroup2 at unified/, or v2 only. */
export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupConfig {
  /** The container's cgroup path as resolved from linux.cgroupsPath (absolute, e.g. "/berth/abc"). */
  path: string;
  resources?: LinuxResources;
  /** Running without root: skip cgroups or use a delegated subtree, as runc does. */
  rootless?: boolean;
}

/** What `state.json` keeps to find the cgroups again: controller → absolute directory ("" for v2). */
export type CgroupPaths = Record<string, string>;

export interface CgroupManager {
  readonly mode: CgroupMode;
  /** Creates the directories (every controller on v1). Idempotent. */
  create(): void;
  /** Moves pid into the cgroup(s). */
  apply(pid: number): void;
  /** Writes resource limits; refuses (InvalidArgument) what the host cannot enforce, before writing anything. */
  set(resources: LinuxResources): void;
  freeze(): void;
  thaw(): void;
  /** 'frozen' | 'thawed' as the freezer reports it. */
  freezerState(): 'frozen' | 'thawed' | 'unknown';
  /** Every pid in the cgroup and below. */
  pids(): number[];
  /** Removes the directories, retrying while the kernel reports them busy. */
  destroy(): void;
  exists(): boolean;
  paths(): CgroupPaths;
}
