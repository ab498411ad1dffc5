/**
 * AppArmor and SELinux, as runc applies them: the profile or label is
 * written to /proc/self/attr/.../exec so that it takes effect at execve.
 * runc writes an AppArmor profile whether or not AppArmor is on (the write
 * then fails with EINVAL, and so does the container); an SELinux label on a
 * host without SELinux is refused up front. berth does the same.
 */
import * as fs from 'node:fs';
import { step, type Step } from '../process/plan';

export function selinuxEnabled(): boolean {
  return fs.existsSync('/sys/fs/selinux/enforce');
}

export function appArmorEnabled(): boolean {
  try {
    return fs.existsSync('/sys/kernel/security/apparmor') && fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

/** Steps run in the init after pivot_root (its /proc is the container's). */
export function planLsm(apparmorProfile: string | undefined, selinuxLabel: string | undefined): Step[] {
  const steps: Step[] = [];
  if (apparmorProfile) {
    // runc's setProcAttr: the AppArmor-specific file where the kernel has stacked LSMs.
    const file = fs.existsSync('/proc/self/attr/apparmor/exec') ? '/proc/self/attr/apparmor/exec' : '/proc/self/attr/exec';
    steps.push({ ...step.writeFile(file, `exec ${apparmorProfile}`), why: `apply apparmor profile ${apparmorProfile}` });
  }
  if (selinuxLabel) {
    steps.push({ ...step.writeFile('/proc/self/attr/exec', selinuxLabel), why: `set selinux label ${selinuxLabel}` });
  }
  return steps;
}
