/**
 * Thin device records and their persisted states (containerd
 * snapshots/devmapper/device_info.go + metadata.go), kept in the snapshotter's
 * metastore under "dev\0<name>" and "devid\0<id>".
 */
export type DeviceState =
  | 'Unknown'
  | 'Creating'
  | 'Created'
  | 'Activating'
  | 'Activated'
  | 'Suspending'
  | 'Suspended'
  | 'Resuming'
  | 'Resumed'
  | 'Deactivating'
  | 'Deactivated'
  | 'Removing'
  | 'Removed'
  | 'Faulty';

export interface DeviceInfo {
  name: string;
  parentName: string;
  deviceId: number;
  size: number;
  state: DeviceState;
  error: string;
}

/** 24-bit thin device ids (dm-thin's limit). */
export const MAX_DEVICE_ID = 0xffffff;

export const devKey = (name: string): string => `dev\0${name}`;
export const devIdKey = (id: number): string => `devid\0${id}`;
