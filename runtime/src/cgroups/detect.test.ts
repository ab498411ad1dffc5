import * as fs from 'node:fs';
import { detectHost, hugePageSizes, parseMountInfo, parseProcCgroup, v1MountsFrom } from './detect';

const MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 23 0:40 / /mnt/with\\040space rw - ext4 /dev/sda1 rw
`;

describe('mountinfo and /proc/self/cgroup parsing', () => {
  it('finds v1 hierarchies, joined controllers and mount roots', () => {
    const own = parseProcCgroup('4:memory:/docker/abc/x\n2:cpu,cpuacct:/\n1:name=systemd:/init.scope\n0::/\n');
    expect(own).toEqual({ memory: '/docker/abc/x', cpu: '/', cpuacct: '/', 'name=systemd': '/init.scope', '': '/' });
    const mounts = v1MountsFrom(parseMountInfo(MOUNTINFO), own);
    expect(mounts.get('cpu')).toEqual({ mountpoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/', subsystems: ['cpu', 'cpuacct'] });
    expect(mounts.get('cpuacct')).toBe(mounts.get('cpu'));
    expect(mounts.get('memory')?.root).toBe('/docker/abc');
    expect(mounts.get('name=systemd')?.mountpoint).toBe('/sys/fs/cgroup/systemd');
    expect(mounts.has('')).toBe(false);
  });
  it('unescapes octal in mount points', () => {
    expect(parseMountInfo(MOUNTINFO).find((m) => m.fstype === 'ext4')?.mountpoint).toBe('/mnt/with space');
  });
  it('refuses a malformed /proc/self/cgroup line', () => {
    expect(() => parseProcCgroup('garbage\n')).toThrow(/two colons/);
  });
});

describe('detectHost on this machine', () => {
  it('agrees with statfs and /proc/self/cgroup', () => {
    const host = detectHost();
    const own = fs.readFileSync('/proc/self/cgroup', 'utf8');
    expect(host.own['']).toBe(/^0::(.*)$/m.exec(own)?.[1]);
    if (host.mode === 'v2') {
      expect(host.v1.size).toBe(0);
      expect(host.unifiedMountpoint).toBe('/sys/fs/cgroup');
    } else {
      expect(host.v1.get('devices')?.mountpoint).toMatch(/^\/sys\/fs\/cgroup\//);
      expect(host.unifiedMountpoint).toBe(host.mode === 'hybrid' ? '/sys/fs/cgroup/unified' : undefined);
    }
  });
  it('names huge page sizes as the kernel does', () => {
    for (const s of hugePageSizes()) expect(s).toMatch(/^\d+(KB|MB|GB)$/);
  });
});
