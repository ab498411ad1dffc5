/**
 * Skipping with a reason: jest has no skip message, so the reason goes into
 * the name: `describeIf(requires('root'))('...', ...)` → "... — skipped: needs root".
 */
import * as fs from 'node:fs';

export type Need = 'root' | 'cgroup-v1' | 'cgroup-v2' | 'userns' | 'timens' | 'containerd' | 'runc' | 'crun';

const checks: Record<Need, () => string | undefined> = {
  root: () => (process.geteuid?.() === 0 ? undefined : 'needs root'),
  'cgroup-v1': () => (fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? undefined : 'needs cgroup v1'),
  'cgroup-v2': () => (fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? undefined : 'needs a pure cgroup v2 host'),
  userns: () => (fs.existsSync('/proc/self/ns/user') ? undefined : 'needs user namespaces'),
  timens: () => (fs.existsSync('/proc/self/ns/time') ? undefined : 'needs time namespaces'),
  containerd: () => (fs.existsSync('/usr/bin/containerd') ? undefined : 'needs containerd (Debian package containerd)'),
  runc: () => (fs.existsSync('/usr/sbin/runc') || fs.existsSync('/usr/bin/runc') ? undefined : 'needs runc'),
  crun: () => (fs.existsSync('/usr/bin/crun') ? undefined : 'needs crun'),
};

/** The first unmet need, as a reason, or undefined when all are met. */
export function requires(...needs: Need[]): string | undefined {
  for (const n of needs) {
    const r = checks[n]();
    if (r) return r;
  }
  return undefined;
}

export function describeIf(reason: string | undefined): (name: string, fn: () => void) => void {
  return (name, fn) => (reason ? describe.skip(`${name} — skipped: ${reason}`, fn) : describe(name, fn));
}
