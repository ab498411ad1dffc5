import type { CommandModule } from 'yargs';
import { knownMountOptions } from '../plan/mount-options';
import { capabilityNumbers } from '../plan/capabilities';
import type { GlobalArgs } from './global';

/** runc's `features` (runtime-spec features.md): what this runtime understands. */
export function features(): object {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.0.2-dev',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: Object.keys(capabilityNumbers),
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: {
      'io.github.berth.version': '0.1.0',
    },
  };
}

export const featuresCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'features',
  describe: 'show the enabled features',
  handler: () => {
    process.stdout.write(JSON.stringify(features(), null, 4) + '\n');
  },
};
