/**
 * The thin pool and its devices (containerd snapshots/devmapper/pool_device.go).
 *
 * Every device operation is a two-phase transition persisted in the device
 * store: the "trying" state is committed before dmsetup runs, the success
 * state (or the error) after. At start-up ensureDeviceStates() repairs what a
 * crash left: Activated devices that are not active are activated again,
 * devices caught in an intermediate state are marked Faulty (and removed by
 * cleanup).
 */
import { AlreadyExistsError, FailedPreconditionError, NotFoundError, ResourceExhaustedError } from './errors';
import type { MetaStore } from '../metastore/metastore';
import * as dm from './dmsetup';
import { devIdKey, devKey, MAX_DEVICE_ID, type DeviceInfo, type DeviceState } from './device-info';
import { warnOnError } from '../log';

export class PoolDevice {
  constructor(
    readonly poolName: string,
    private readonly store: MetaStore,
  ) {}

  async getDevice(name: string): Promise<DeviceInfo> {
    const d = await this.store.withTransaction(false, (tx) => tx.get<DeviceInfo>(devKey(name)));
    if (!d) throw new NotFoundError(`device ${name} not found`);
    return d;
  }

  async walkDevices(): Promise<DeviceInfo[]> {
    return this.store.withTransaction(false, (tx) => tx.range<DeviceInfo>('dev\0').map(([, d]) => d));
  }

  /** Records a new device in state Unknown with a free device id (metadata.AddDevice). */
  private async addDevice(name: string, parentName: string, size: number): Promise<DeviceInfo> {
    return this.store.withTransaction(true, (tx) => {
      if (tx.get(devKey(name))) throw new AlreadyExistsError(`device ${name} already exists`);
      let id = (tx.get<number>('devid-next') ?? 0) + 1;
      for (let n = 0; tx.get(devIdKey(id)) !== undefined; n++) {
        if (n > MAX_DEVICE_ID) throw new ResourceExhaustedError('no free thin device id');
        id = id >= MAX_DEVICE_ID ? 1 : id + 1;
      }
      const d: DeviceInfo = { name, parentName, deviceId: id, size, state: 'Unknown', error: '' };
      tx.put(devKey(name), d);
      tx.put(devIdKey(id), name);
      tx.put('devid-next', id);
      return d;
    });
  }

  private async update(name: string, fn: (d: DeviceInfo) => void): Promise<DeviceInfo> {
    return this.store.withTransaction(true, (tx) => {
      const d = tx.get<DeviceInfo>(devKey(name));
      if (!d) throw new NotFoundError(`device ${name} not found`);
      const next = { ...d };
      fn(next);
      tx.put(devKey(name), next);
      return next;
    });
  }

  private async forget(d: DeviceInfo): Promise<void> {
    await this.store.withTransaction(true, (tx) => {
      tx.remove(devKey(d.name));
      tx.remove(devIdKey(d.deviceId));
    });
  }

  /** trying state → fn → success state, or the error recorded (pool_device.go transition). */
  async transition(name: string, trying: DeviceState, success: DeviceState, fn: () => Promise<unknown>): Promise<void> {
    await this.update(name, (d) => (d.state = trying));
    try {
      await fn();
    } catch (err) {
      await this.update(name, (d) => (d.error = String((err as Error).message ?? err)));
      throw err;
    }
    await this.update(name, (d) => {
      d.state = success;
      d.error = '';
    });
  }

  async isActivated(name: string): Promise<boolean> {
    return dm.exists(name);
  }

  /** Start-up repair (ensureDeviceStates). */
  async ensureDeviceStates(): Promise<void> {
    for (const d of await this.walkDevices()) {
      if (d.state === 'Activated') {
        if (!(await this.isActivated(d.name))) await this.activate(d);
      } else if (!['Suspended', 'Resumed', 'Deactivated', 'Removed', 'Faulty'].includes(d.state)) {
        await this.update(d.name, (x) => (x.state = 'Faulty'));
      }
    }
  }

  private async activate(d: DeviceInfo): Promise<void> {
    await this.transition(d.name, 'Activating', 'Activated', () => dm.activateDevice(this.poolName, d.name, d.deviceId, d.size));
  }

  /** A new thin device, activated (CreateThinDevice); rolled back on error. */
  async createThinDevice(name: string, size: number): Promise<void> {
    const d = await this.addDevice(name, '', size);
    try {
      await this.transition(name, 'Creating', 'Created', () => dm.createDevice(this.poolName, d.deviceId));
      await this.activate(d);
    } catch (err) {
      await this.rollback(d);
      throw err;
    }
  }

  /** A snapshot of parent as a new activated device (CreateSnapshotDevice): an active parent is suspended around create_snap. */
  async createSnapshotDevice(parentName: string, name: string, size: number): Promise<void> {
    const parent = await this.getDevice(parentName);
    const d = await this.addDevice(name, parentName, size);
    const parentActive = await this.isActivated(parentName);
    try {
      if (parentActive) await this.transition(parentName, 'Suspending', 'Suspended', () => dm.suspendDevice(parentName));
      try {
        await this.transition(name, 'Creating', 'Created', () => dm.createSnapshot(this.poolName, d.deviceId, parent.deviceId));
      } finally {
        if (parentActive) await this.transition(parentName, 'Resuming', 'Activated', () => dm.resumeDevice(parentName));
      }
      await this.activate(d);
    } catch (err) {
      await this.rollback(d);
      throw err;
    }
  }

  private async rollback(d: DeviceInfo): Promise<void> {
    try {
      await this.removeDevice(d.name);
    } catch {
      await this.update(d.name, (x) => (x.state = 'Faulty')).catch(warnOnError('snapshots.devmapper', 'failed to mark device faulty', { device: d.name }));
    }
  }

  /**
   * Deactivates a device (DeactivateDevice). deferred: a device still in use
   * (a committed snapshot that is still mounted) goes away when its last user
   * closes it; force: a removal replaces the table with an error target first.
   */
  async deactivateDevice(name: string, opts: { deferred?: boolean; force?: boolean } = {}): Promise<void> {
    if (!(await this.isActivated(name))) {
      await this.update(name, (d) => (d.state = 'Deactivated'));
      return;
    }
    await this.transition(name, 'Deactivating', 'Deactivated', () => dm.removeDevice(name, { retry: true, ...opts }));
  }

  async activateDevice(name: string): Promise<void> {
    if (await this.isActivated(name)) return;
    await this.activate(await this.getDevice(name));
  }

  /** Deactivates, deletes from the pool and forgets a device (RemoveDevice). */
  async removeDevice(name: string): Promise<void> {
    const d = await this.getDevice(name);
    if (await this.isActivated(name)) await this.deactivateDevice(name, { force: true });
    await this.transition(name, 'Removing', 'Removed', async () => {
      try {
        await dm.deleteDevice(this.poolName, d.deviceId);
      } catch (err) {
        // Already gone from the pool (a crash after delete): fine.
        if (!(err instanceof dm.DmsetupError && err.errno === 'ENODATA')) throw err;
      }
    });
    await this.forget(d);
  }

  /** Mapped bytes of an active device. */
  async getUsage(name: string): Promise<number> {
    if (!(await this.isActivated(name))) throw new FailedPreconditionError(`device ${name} is not active`);
    return dm.thinUsage(name);
  }
}
