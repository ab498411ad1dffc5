/**
 * The devmapper snapshotter (containerd snapshots/devmapper/snapshotter.go):
 * one dm-thin device per snapshot. A snapshot without parent is a new thin
 * device with a fresh filesystem (mkfs); one with a parent is a thin snapshot
 * (create_snap) of the parent's device. Devices are active while their
 * snapshot is active or a view, and deactivated on Commit and Remove. Mounts
 * are the device itself ({type: ext4|xfs, source: /dev/mapper/<pool>-snap-<id>}).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withTempMount } from '../../mount/mount';
import type { Mount } from '../../mount/types';
import { run } from '../fsutil/exec';
import { MetaStoreSnapshotter } from '../metastore/base';
import { MetaStore } from '../metastore/metastore';
import * as storage from '../metastore/storage';
import type { Info, Kind, SnapshotOpts, Usage } from '../snapshotter';
import { validate, parseSize, type DevmapperConfig, type ValidConfig } from './config';
import * as dm from './dmsetup';
import { PoolDevice } from './pool-device';
import { warnOnError } from '../log';

const FS_TYPE_LABEL = 'containerd.io/snapshot/devmapper/fstype';

export class DevmapperSnapshotter extends MetaStoreSnapshotter {
  private closed = false;

  private constructor(
    private readonly config: ValidConfig,
    ms: MetaStore,
    private readonly devices: MetaStore,
    readonly pool: PoolDevice,
    private readonly loops: string[],
  ) {
    super(ms);
  }

  /** Opens the snapshotter, creating the pool (from devices or loop files) when it does not exist. */
  static async open(raw: DevmapperConfig): Promise<DevmapperSnapshotter> {
    const config = validate(raw);
    await fs.promises.mkdir(config.root_path, { recursive: true, mode: 0o700 });
    const loops: string[] = [];
    if (!(await dm.exists(config.pool_name))) {
      let data = config.data_device;
      let meta = config.meta_device;
      if (!data || !meta) {
        data = await loopFile(path.join(config.root_path, 'data.img'), parseSize(config.data_file_size ?? '1GiB'));
        meta = await loopFile(path.join(config.root_path, 'meta.img'), parseSize(config.meta_file_size ?? '64MiB'));
        loops.push(data, meta);
        // A fresh metadata device must start zeroed for dm-thin to format it.
      }
      await dm.createPool(config.pool_name, data, meta, config.blockSizeSectors);
    }
    const ms = MetaStore.open(path.join(config.root_path, 'metadata.db'));
    const devices = MetaStore.open(path.join(config.root_path, 'devices.db'));
    const pool = new PoolDevice(config.pool_name, devices);
    await pool.ensureDeviceStates();
    return new DevmapperSnapshotter(config, ms, devices, pool, loops);
  }

  private deviceName(id: string): string {
    return `${this.config.pool_name}-snap-${id}`;
  }

  protected async activeUsage(id: string): Promise<Usage> {
    return { size: await this.pool.getUsage(this.deviceName(id)), inodes: 0 };
  }

  /** The device's filesystem type is a label of the snapshot. */
  override async mounts(key: string): Promise<Mount[]> {
    const { snap, fsType } = await this.ms.withTransaction(false, (tx) => {
      const s = storage.getSnapshot(tx, key);
      return { snap: s, fsType: storage.getInfo(tx, key).info.labels[FS_TYPE_LABEL] ?? 'ext4' };
    });
    return this.mountsOf(snap, fsType);
  }

  /** A committed snapshot keeps its filesystem type label. */
  protected override commitOpts(info: Info, opts?: SnapshotOpts): SnapshotOpts {
    return { labels: { ...(opts?.labels ?? {}), [FS_TYPE_LABEL]: info.labels[FS_TYPE_LABEL] ?? this.config.fsType } };
  }

  /** Deferred, as containerd: the active snapshot may still be mounted. */
  protected override async sealCommitted(id: string): Promise<void> {
    await this.pool.deactivateDevice(this.deviceName(id), { deferred: true });
  }

  async remove(key: string): Promise<void> {
    await this.ms.withTransaction(true, async (tx) => {
      const { id } = storage.removeSnapshot(tx, key);
      await this.pool.removeDevice(this.deviceName(id));
    });
  }

  /** Removes devices no snapshot refers to (orphans of a crash) and Faulty ones. */
  async cleanup(): Promise<void> {
    const ids = await this.ms.withTransaction(false, (tx) => storage.idMap(tx));
    const live = new Set([...ids.keys()].map((id) => this.deviceName(id)));
    for (const d of await this.pool.walkDevices()) {
      if (!live.has(d.name) || d.state === 'Faulty') await this.pool.removeDevice(d.name);
    }
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await super.close();
    await this.devices.close();
  }

  /** Tests and tools: removes every device, the pool and the loop devices this instance made. */
  async destroyPool(): Promise<void> {
    for (const name of await dm.list()) {
      if (name.startsWith(`${this.config.pool_name}-snap-`)) await dm.removeDevice(name, { force: true, retry: true }).catch(() => undefined);
    }
    await dm.removeDevice(this.config.pool_name, { retry: true }).catch(() => undefined);
    for (const l of this.loops) await run('losetup', ['-d', l]).catch(() => undefined);
  }

  protected async createSnapshot(kind: Kind, key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return this.ms.withTransaction(true, async (tx) => {
      const fsType = parent === '' ? this.config.fsType : (storage.getInfo(tx, parent).info.labels[FS_TYPE_LABEL] ?? 'ext4');
      const s = storage.createSnapshot(this.ms, tx, kind, key, parent, { labels: { ...(opts?.labels ?? {}), [FS_TYPE_LABEL]: fsType } });
      const name = this.deviceName(s.id);
      // A device left under this (reused) id by a crash before the metadata commit.
      if (await this.pool.getDevice(name).then(() => true, () => false)) await this.pool.removeDevice(name);
      if (s.parentIds.length === 0) {
        await this.pool.createThinDevice(name, this.config.baseImageSizeBytes);
        try {
          await mkfs(fsType, this.config.fs_options, dm.fullDevicePath(name));
        } catch (err) {
          await this.pool.removeDevice(name).catch(warnOnError('snapshots.devmapper', 'failed to roll back thin device', { device: name }));
          throw err;
        }
      } else {
        await this.pool.createSnapshotDevice(this.deviceName(s.parentIds[0]), name, this.config.baseImageSizeBytes);
      }
      try {
        const mounts = this.mountsOf(s, fsType);
        if (s.parentIds.length === 0) {
          // mkfs leaves lost+found; a fresh snapshot is empty (as containerd).
          await withTempMount(this.mountsOf({ ...s, kind: 'active' }, fsType), (root) => fs.promises.rm(path.join(root, 'lost+found'), { recursive: true, force: true }));
        }
        return mounts;
      } catch (err) {
        await this.pool.removeDevice(name).catch(warnOnError('snapshots.devmapper', 'failed to roll back thin device', { device: name }));
        throw err;
      }
    });
  }

  /** `fsType`: the snapshot's filesystem label (mounts() and createSnapshot() pass it). */
  protected mountsOf(s: storage.Snapshot, fsType: string = this.config.fsType): Mount[] {
    const options: string[] = [];
    if (s.kind !== 'active') options.push('ro');
    if (fsType === 'xfs') options.push('nouuid');
    return [{ type: fsType, source: dm.fullDevicePath(this.deviceName(s.id)), options }];
  }
}

async function mkfs(fsType: 'ext4' | 'xfs' | string, options: string | undefined, device: string): Promise<void> {
  const opts = options ?? (fsType === 'ext4' ? '-E nodiscard,lazy_itable_init=0,lazy_journal_init=0' : '');
  const args = fsType === 'ext4' ? ['-q', '-F', ...opts.split(/\s+/).filter(Boolean), device] : ['-f', ...opts.split(/\s+/).filter(Boolean), device];
  await run(`mkfs.${fsType}`, args);
}

async function loopFile(file: string, size: number): Promise<string> {
  if (!fs.existsSync(file)) {
    await run('truncate', ['-s', String(size), file]);
  }
  return (await run('losetup', ['--find', '--show', file])).trim();
}
