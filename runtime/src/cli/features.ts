import { CAPABILITIES } from '../plan/capabilities';
import { appArmorEnabled, selinuxEnabled } from '../plan/lsm';
import { knownMountOptions } from '../plan/mount-options';
import { ARCHES } from '../seccomp/arch';
import { SECCOMP_ACTIONS, SECCOMP_OPERATORS } from '../seccomp/compile';
import type { Args, CommandSpec } from './command';

/** runc's `features` (runtime-spec features.md): what this runtime understands. */
export function features(): object {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.0.2-dev',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS].sort(),
        operators: Object.keys(SECCOMP_OPERATORS).sort(),
        archs: Object.values(ARCHES).map((a) => a.oci).sort(),
        knownFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
        supportedFlags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      },
      apparmor: { enabled: appArmorEnabled() },
      selinux: { enabled: selinuxEnabled() },
    },
    annotations: {
      'io.github.berth.version': '0.1.0',
    },
  };
}

export const featuresCommand: CommandSpec<Args> = {
  name: 'features',
  describe: 'show the enabled features',
  handler: () => {
    process.stdout.write(JSON.stringify(features(), null, 4) + '\n');
  },
};
