/**
 * The cgroup manager: one interface over cgroup v1 (and hybrid) and v2, as
 * opencontainers/cgroups' Manager. The runtime's lifecycle code uses only this
 * (built by new.ts); v1/ and v2/ hold one file per controller.
 *
 * Everything here runs in the runtime's own (Node) process: cgroup control is
 * plain file writes. Only the v2 device filter needs the native part (a BPF
 * program attached to the cgroup directory, run-plan.ts).
 *
 * The lifecycle's order, as runc's:
 *
 *   create:  m = newCgroupManager({ id, cgroupsPath, resources, linuxDevices })
 *            m.create()                      directories (+ cpuset/rt set-up)
 *            m.apply(initPid)                the init joins, before it execs
 *            m.set(resources)                limits; pass `devices` (even [])
 *            state.cgroupPaths = m.paths()   keep them in state.json
 *   later:   m = loadCgroupManager(state.cgroupPaths)
 *            pause/resume: m.freeze() / m.thaw(); ps: m.pids();
 *            events: m.stats(), m.watchOOM(); update: m.set(changes)
 *   delete:  m.destroy()  (after the processes are gone: kill m.pids() first)
 *
 * Every method is synchronous except watchOOM (cgroup files are in-memory;
 * runc's short retry sleeps block for at most tens of milliseconds).
 */
import type { LinuxDevice, LinuxResources } from '../spec/types';
import type { CgroupStats } from './stats';

/** How the host mounts cgroups: v1 only, v1 plus an (often empty) cgroup2 at unified/, or v2 only. */
export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupConfig {
  /** The container id: names the cgroup when cgroupsPath is empty (runc: relative path "<id>"). */
  id: string;
  /** linux.cgroupsPath as written in config.json: absolute, relative to the runtime's own cgroup, or empty. */
  cgroupsPath?: string;
  /** linux.resources; create() uses cpu.cpus/mems and the realtime values before any process joins (runc's Apply). */
  resources?: LinuxResources;
  /**
   * linux.devices: a default allowed device whose path is listed here is left
   * out of the device rules, so the config's own rules decide (runc's createDevices).
   */
  linuxDevices?: Pick<LinuxDevice, 'path'>[];
  /** --systemd-cgroup: unsupported (clear error when systemd is absent). */
  systemd?: boolean;
  /** Warnings (ignored settings, as runc's kernel memory), for the caller's log. */
  warn?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * What state.json keeps to find the cgroups again, as runc's cgroup_paths:
 * v1 subsystem → absolute directory ("" → the hybrid cgroup2 directory);
 * v2: the single key "" → the directory.
 */
export type CgroupPaths = Record<string, string>;

export type FreezerState = 'frozen' | 'thawed' | 'unknown';

export interface OomEvent {
  type: 'oom';
  /** How many OOM kills the cgroup has seen so far (memory.events / memory.oom_control oom_kill). */
  oomKills: number;
}

/** Reports OOM kills as they happen; ends when the cgroup goes away (or close()). */
export interface OomWatcher extends AsyncIterable<OomEvent> {
  close(): void;
}

export interface CgroupManager {
  readonly mode: CgroupMode;
  /** Creates the directories (every mounted controller on v1; enables controllers down the tree on v2). Idempotent. */
  create(): void;
  /** Moves pid into the cgroup(s). */
  apply(pid: number): void;
  /**
   * Writes resource limits. Validates everything first and refuses (InvalidArgument,
   * FailedPrecondition) what is malformed or what the host cannot enforce, before
   * writing anything; if the kernel still refuses a value, the writes already made
   * are rolled back. Only what `resources` names is touched; device rules are
   * applied when `resources.devices` is present (with runc's default rules after them).
   */
  set(resources: LinuxResources): void;
  /** Freezes every process (v1 freezer.state with runc's retry loop; v2 cgroup.freeze). */
  freeze(): void;
  thaw(): void;
  freezerState(): FreezerState;
  /** Every pid in the cgroup and below. */
  pids(): number[];
  /** Usage figures from the cgroup files, as runc's GetStats; stats.ts formats `events --stats`. */
  stats(): CgroupStats;
  /** OOM kills so far (0 without a memory controller). */
  oomKillCount(): number;
  /** Streams OOM events (poll + inotify on v2), for `events`. */
  watchOOM(opts?: { intervalMs?: number }): OomWatcher;
  /** Removes the directories bottom-up, retrying while the kernel reports them busy. */
  destroy(): void;
  exists(): boolean;
  paths(): CgroupPaths;
}
