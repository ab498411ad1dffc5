/**
 * v2 devices (opencontainers/cgroups fs2/devices.go): there is no devices
 * file on v2; the rules become an eBPF program (devices/filter.ts) that the
 * native helper loads and attaches to the cgroup directory, replacing the
 * one before. It runs last in set(), so that nothing after it can fail and
 * call for an undo of the filter.
 */
import type { Controller } from '../controller';
import { containerDeviceRules } from '../devices/rules';
import { deviceFilter, encodeInsns } from '../devices/filter';
import { runPlanSync } from '../run-plan';
import { StepKind } from '../../process/plan';

export const devices: Controller = {
  name: 'devices',
  requested: (r) => (r.devices !== undefined ? 'device rules' : undefined),
  validate(ctx, r) {
    if (r.devices !== undefined) deviceFilter(containerDeviceRules(r.devices, ctx.linuxDevices));
  },
  set(ctx, r) {
    if (r.devices === undefined) return;
    const f = deviceFilter(containerDeviceRules(r.devices, ctx.linuxDevices));
    runPlanSync([
      { kind: StepKind.BpfDevices, args: [ctx.dir, encodeInsns(f.insns), f.license], why: 'attach the device filter to' },
    ]);
  },
};
