import { isInvalidArgument } from '../../../proto/src/errdefs';
import { type CgroupHost, isRunningSystemd } from './detect';
import { cleanCgroupsPath, resolveCgroupPaths } from './paths';

const m = (mountpoint: string, subsystems: string[]) => ({ mountpoint, root: '/', subsystems });

/** This machine's layout: separate cpu and cpuacct mounts, memory nested in a sandbox cgroup. */
const hybrid: CgroupHost = {
  mode: 'hybrid',
  unifiedMountpoint: '/sys/fs/cgroup/unified',
  v1: new Map([
    ['cpu', m('/sys/fs/cgroup/cpu', ['cpu'])],
    ['cpuacct', m('/sys/fs/cgroup/cpuacct', ['cpuacct'])],
    ['cpuset', m('/sys/fs/cgroup/cpuset', ['cpuset'])],
    ['memory', m('/sys/fs/cgroup/memory', ['memory'])],
    ['devices', m('/sys/fs/cgroup/devices', ['devices'])],
    ['freezer', m('/sys/fs/cgroup/freezer', ['freezer'])],
    ['blkio', m('/sys/fs/cgroup/blkio', ['blkio'])],
    ['pids', m('/sys/fs/cgroup/pids', ['pids'])],
    ['name=systemd', m('/sys/fs/cgroup/systemd', ['name=systemd'])],
  ]),
  own: { cpu: '/', cpuacct: '/', cpuset: '/', memory: '/sandbox/x', devices: '/', freezer: '/', blkio: '/', pids: '/', 'name=systemd': '/', '': '/' },
};

const joined = m('/sys/fs/cgroup/cpu,cpuacct', ['cpu', 'cpuacct']);
const v1Joined: CgroupHost = {
  mode: 'v1',
  v1: new Map([
    ['cpu', joined],
    ['cpuacct', joined],
    ['devices', m('/sys/fs/cgroup/devices', ['devices'])],
  ]),
  own: { cpu: '/user.slice', cpuacct: '/user.slice', devices: '/user.slice' },
};

const v2: CgroupHost = { mode: 'v2', unifiedMountpoint: '/sys/fs/cgroup', v1: new Map(), own: { '': '/user.slice/session-1.scope' } };

describe('cleanCgroupsPath', () => {
  it('keeps absolute paths absolute and cleans them', () => {
    expect(cleanCgroupsPath('/a//b/./c/', 'id')).toEqual({ absolute: true, path: '/a/b/c' });
    expect(cleanCgroupsPath('/a/x/../b', 'id')).toEqual({ absolute: true, path: '/a/b' });
  });
  it('keeps relative paths relative', () => {
    expect(cleanCgroupsPath('a/b', 'id')).toEqual({ absolute: false, path: 'a/b' });
  });
  it('defaults to the container id, relative (runc: c.Name = id)', () => {
    expect(cleanCgroupsPath(undefined, 'ctr1')).toEqual({ absolute: false, path: 'ctr1' });
    expect(cleanCgroupsPath('', 'ctr1')).toEqual({ absolute: false, path: 'ctr1' });
  });
  it.each(['/../etc', '/a/../../b', '../x', 'a/../../x', '..'])('refuses %s, which escapes', (p) => {
    let err: unknown;
    try {
      cleanCgroupsPath(p, 'id');
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
    expect(String(err)).toMatch(/escapes the cgroup hierarchy/);
  });
  it('refuses a relative path that names the own cgroup', () => {
    expect(() => cleanCgroupsPath('a/..', 'id')).toThrow(/own cgroup/);
  });
  it('refuses an id that cannot be a cgroup name', () => {
    expect(() => cleanCgroupsPath('', 'a/b')).toThrow(/invalid container id/);
  });
  it('refuses the systemd slice:prefix:name form and --systemd-cgroup, clearly', () => {
    if (isRunningSystemd()) {
      expect(() => cleanCgroupsPath('system.slice:docker:abc', 'id')).toThrow(/berth does not implement/);
      expect(() => cleanCgroupsPath('', 'id', true)).toThrow(/berth does not implement/);
      return;
    }
    expect(() => cleanCgroupsPath('system.slice:docker:abc', 'id')).toThrow(/systemd cgroup driver.*\/run\/systemd\/system is absent/);
    expect(() => cleanCgroupsPath('', 'id', true)).toThrow(/--systemd-cgroup needs the systemd cgroup driver, which is unsupported/);
  });
});

describe('resolveCgroupPaths', () => {
  it('v1 absolute: below each mountpoint', () => {
    const p = resolveCgroupPaths(hybrid, { cgroupsPath: '/berth/c1', id: 'c1' });
    expect(p.memory).toBe('/sys/fs/cgroup/memory/berth/c1');
    expect(p.cpu).toBe('/sys/fs/cgroup/cpu/berth/c1');
    expect(p['name=systemd']).toBe('/sys/fs/cgroup/systemd/berth/c1');
    expect(p['']).toBe('/sys/fs/cgroup/unified/berth/c1');
    expect(p.hugetlb).toBeUndefined(); // not mounted: left out
  });
  it('v1 default: relative to the own cgroup of each controller (as runc 1.1 on this machine)', () => {
    const p = resolveCgroupPaths(hybrid, { id: 'c1' });
    expect(p.memory).toBe('/sys/fs/cgroup/memory/sandbox/x/c1');
    expect(p.cpu).toBe('/sys/fs/cgroup/cpu/c1');
    // runc's hybrid quirk: relative paths in the cgroup2 tree start at the mountpoint
    expect(p['']).toBe('/sys/fs/cgroup/unified/c1');
  });
  it('v1 joined mounts: cpu and cpuacct share one directory', () => {
    const p = resolveCgroupPaths(v1Joined, { cgroupsPath: 'x', id: 'c1' });
    expect(p.cpu).toBe('/sys/fs/cgroup/cpu,cpuacct/user.slice/x');
    expect(p.cpuacct).toBe(p.cpu);
    expect(p['']).toBeUndefined();
  });
  it('v1 without a devices controller is refused', () => {
    const host: CgroupHost = { ...v1Joined, v1: new Map([['cpu', joined]]) };
    expect(() => resolveCgroupPaths(host, { id: 'c1' })).toThrow(/devices cgroup controller is not mounted/);
  });
  it('v2 absolute and relative (below the parent of the own cgroup)', () => {
    expect(resolveCgroupPaths(v2, { cgroupsPath: '/berth/c1', id: 'c1' })).toEqual({ '': '/sys/fs/cgroup/berth/c1' });
    expect(resolveCgroupPaths(v2, { id: 'c1' })).toEqual({ '': '/sys/fs/cgroup/user.slice/c1' });
    const root: CgroupHost = { ...v2, own: { '': '/' } };
    expect(resolveCgroupPaths(root, { id: 'c1' })).toEqual({ '': '/sys/fs/cgroup/c1' });
  });
});
