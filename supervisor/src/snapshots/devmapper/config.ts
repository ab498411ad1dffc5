/**
 * devmapper configuration, with containerd's keys (snapshots/devmapper/config.go)
 * plus what berth adds to create the pool itself.
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';

export interface DevmapperConfig {
  /** root_path: where metadata.db and devices.db (and loop files) live. */
  root_path: string;
  /** pool_name: the thin-pool device name (created when missing). */
  pool_name: string;
  /** base_image_size: size of every thin device ("10GB", "32MiB" or bytes). */
  base_image_size: string | number;
  /** fs_type: ext4 (default) or xfs. */
  fs_type?: 'ext4' | 'xfs';
  /** fs_options: mkfs options (default for ext4: -E nodiscard,lazy_itable_init=0,lazy_journal_init=0). */
  fs_options?: string;
  /** Pool creation (berth): data and metadata block devices... */
  data_device?: string;
  meta_device?: string;
  /** ...or sparse loop files of these sizes under root_path. */
  data_file_size?: string | number;
  meta_file_size?: string | number;
  /** Pool block size in 512-byte sectors (default 128 = 64 KiB; dm-thin wants 128..2097152, multiple of 128). */
  block_size_sectors?: number;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20, g: 1e9, gb: 1e9, gib: 1 << 30, t: 1e12, tb: 1e12, tib: 2 ** 40 };

/** "10GB" → bytes (go-units RAMInBytes-like; decimal and binary suffixes). */
export function parseSize(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`invalid size ${JSON.stringify(v)}`);
  return Math.floor(parseFloat(m[1]) * unit);
}

export interface ValidConfig extends DevmapperConfig {
  baseImageSizeBytes: number;
  fsType: 'ext4' | 'xfs';
  blockSizeSectors: number;
}

export function validate(c: DevmapperConfig): ValidConfig {
  const errs: string[] = [];
  if (!c.root_path) errs.push('root_path is required');
  if (!c.pool_name) errs.push('pool_name is required');
  if (c.base_image_size === undefined || c.base_image_size === '') errs.push('base_image_size is required');
  const fsType = c.fs_type ?? 'ext4';
  if (fsType !== 'ext4' && fsType !== 'xfs') errs.push(`unsupported fs_type ${JSON.stringify(fsType)}`);
  const blockSizeSectors = c.block_size_sectors ?? 128;
  if (blockSizeSectors < 128 || blockSizeSectors > 2097152 || blockSizeSectors % 128 !== 0) errs.push('block_size_sectors must be a multiple of 128 in [128, 2097152]');
  if (!!c.data_device !== !!c.meta_device) errs.push('data_device and meta_device go together');
  if (errs.length > 0) throw new InvalidArgumentError(`invalid devmapper configuration: ${errs.join('; ')}`);
  return { ...c, baseImageSizeBytes: parseSize(c.base_image_size), fsType, blockSizeSectors };
}
