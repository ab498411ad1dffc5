/**
 * v1 devices (opencontainers/cgroups fs/devices.go): read devices.list into
 * the emulator, compute the least disruptive transition to the target rules
 * (the config's, then runc's defaults), write it to devices.allow/devices.deny,
 * and check that the kernel now lists exactly the target.
 */
import { FailedPreconditionError } from '../../../../proto/src/errdefs';
import type { Controller, ControllerContext } from '../controller';
import { DeviceEmulator } from '../devices/emulator';
import { containerDeviceRules, ruleString, type DeviceRule } from '../devices/rules';
import { readCgroupFile, writeCgroupFile } from '../files';
import type { LinuxResources } from '../../spec/types';

function target(ctx: ControllerContext, r: LinuxResources): DeviceEmulator {
  return DeviceEmulator.fromRules(containerDeviceRules(r.devices ?? [], ctx.linuxDevices));
}

function writeRules(dir: string, rules: DeviceRule[]): void {
  for (const rule of rules) writeCgroupFile(dir, rule.allow ? 'devices.allow' : 'devices.deny', ruleString(rule));
}

export const devices: Controller = {
  name: 'devices',
  requested: (r) => (r.devices !== undefined ? 'device rules' : undefined),
  validate(ctx, r) {
    if (r.devices === undefined) return;
    target(ctx, r); // refuses malformed rules and wildcard holes
    DeviceEmulator.fromList(readCgroupFile(ctx.dir, 'devices.list'));
  },
  set(ctx, r, log) {
    if (r.devices === undefined) return;
    const { dir } = ctx;
    const current = DeviceEmulator.fromList(readCgroupFile(dir, 'devices.list'));
    const want = target(ctx, r);
    // Undo: go back from whatever we reach to the rules read before.
    log.onRollback('devices rules', () => writeRules(dir, DeviceEmulator.fromList(readCgroupFile(dir, 'devices.list')).transition(current)));
    writeRules(dir, current.transition(want));
    const after = DeviceEmulator.fromList(readCgroupFile(dir, 'devices.list'));
    if (!want.isBlacklist() && !after.equals(want)) {
      throw new FailedPreconditionError(`resulting devices cgroup doesn't precisely match target (\`${dir}/devices.list\`)`);
    }
    if (want.isBlacklist() !== after.isBlacklist()) {
      throw new FailedPreconditionError(`resulting devices cgroup doesn't match target mode (\`${dir}/devices.list\`)`);
    }
  },
};
