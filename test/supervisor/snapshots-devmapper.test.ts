/**
 * The conformance suite against the devmapper snapshotter, each check on its
 * own dm-thin pool made from loop files under the check's root, and removed
 * (devices, pool, loop devices) even on failure. Needs device-mapper with
 * dm-thin: this host has none, so the suite runs in the VM lane:
 *   /work/shared/tools/run-in-vm.sh "$PWD" 'npx jest test/supervisor/snapshots-devmapper'
 */
import * as fs from 'node:fs';
import { DevmapperSnapshotter } from '../../supervisor/src/snapshots/devmapper/devmapper';
import { parseDmsetupError } from '../../supervisor/src/snapshots/devmapper/dmsetup';
import { validate } from '../../supervisor/src/snapshots/devmapper/config';
import { detachAllLoopbacks } from '../../supervisor/src/snapshots/testsuite/loopback';
import { snapshotterSuite } from '../../supervisor/src/snapshots/testsuite/testsuite';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!fs.existsSync('/dev/mapper/control')) return 'no /dev/mapper/control';
  if (!fs.readFileSync('/proc/modules', 'utf8').includes('dm_thin_pool') && !fs.existsSync('/sys/module/dm_thin_pool')) return 'no dm_thin_pool';
  return undefined;
}

let pools = 0;
const open = new Map<string, DevmapperSnapshotter>();

afterAll(async () => {
  for (const sn of open.values()) await sn.destroyPool().catch(() => undefined);
  await detachAllLoopbacks();
});

snapshotterSuite(
  'devmapper',
  async (root) => {
    const first = !open.has(root);
    const poolName = first ? `berth-test-${process.pid}-${++pools}` : (open.get(root) as DevmapperSnapshotter).pool.poolName;
    const sn = await DevmapperSnapshotter.open({
      root_path: root,
      pool_name: poolName,
      base_image_size: '16MiB',
      data_file_size: '1GiB',
      meta_file_size: '32MiB',
    });
    if (!first) return { snapshotter: sn };
    open.set(root, sn);
    return {
      snapshotter: sn,
      cleanup: async () => {
        await sn.destroyPool();
        open.delete(root);
      },
    };
  },
  { skip: skipReason(), usageInodes: false, timeout: 1_200_000 },
);

describe('devmapper configuration and dmsetup errors (no device needed)', () => {
  it('validates the config with containerd keys', () => {
    expect(validate({ root_path: '/r', pool_name: 'p', base_image_size: '10GB' }).baseImageSizeBytes).toBe(10e9);
    expect(validate({ root_path: '/r', pool_name: 'p', base_image_size: '32MiB' }).baseImageSizeBytes).toBe(32 << 20);
    expect(() => validate({ root_path: '', pool_name: '', base_image_size: '' })).toThrow(/root_path is required; pool_name is required; base_image_size is required/);
    expect(() => validate({ root_path: '/r', pool_name: 'p', base_image_size: '1G', block_size_sectors: 100 })).toThrow(/multiple of 128/);
    expect(() => validate({ root_path: '/r', pool_name: 'p', base_image_size: 'lots' })).toThrow(/invalid size/);
  });
  it('maps dmsetup output to errno names', () => {
    expect(parseDmsetupError('device-mapper: remove ioctl on x-snap-1  failed: Device or resource busy\nCommand failed.\n')).toBe('EBUSY');
    expect(parseDmsetupError('Device x-snap-9 not found\nCommand failed.\n')).toBe('ENXIO');
    expect(parseDmsetupError('device-mapper: message ioctl on pool  failed: No data available\nCommand failed.\n')).toBe('ENODATA');
    expect(parseDmsetupError('something else')).toBeUndefined();
  });
});
