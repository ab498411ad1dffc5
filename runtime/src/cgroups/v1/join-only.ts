/**
 * Hierarchies that are joined but not configured: perf_event, the named
 * "name=systemd" hierarchy and, on a hybrid host, the cgroup2 tree ("")
 * (opencontainers/cgroups fs/perf_event.go, fs/name.go).
 */
import type { Controller } from '../controller';

export const perfEvent: Controller = { name: 'perf_event' };
export const nameSystemd: Controller = { name: 'name=systemd' };
export const hybridUnified: Controller = { name: '' };
