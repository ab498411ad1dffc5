/**
 * berth-runtime's cgroup library: what the lifecycle imports. See manager.ts
 * for the order of calls (create → apply(pid) → set → paths() into state.json;
 * loadCgroupManager(paths) for every later command).
 */
export type { CgroupConfig, CgroupManager, CgroupMode, CgroupPaths, FreezerState, OomEvent, OomWatcher } from './manager';
export { newCgroupManager, loadCgroupManager } from './new';
export { detectHost, detectMode, isRunningSystemd, type CgroupHost } from './detect';
export { cleanCgroupsPath, resolveCgroupPaths } from './paths';
export { type CgroupStats, formatStatsEvent, toRuncEventStats, stringifyWithU64 } from './stats';
export { DEFAULT_ALLOWED_DEVICES, containerDeviceRules } from './devices/rules';
export { runPlanSync } from './run-plan';
