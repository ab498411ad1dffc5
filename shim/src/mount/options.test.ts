import { compactLowerdir, mountCalls, MS, parseMountOptions } from './options';

describe('mount options', () => {
  it('splits flags from data, clearing and setting like containerd', () => {
    expect(parseMountOptions(['ro', 'nosuid', 'nodev', 'size=64m', 'mode=755'])).toEqual({
      flags: MS.RDONLY | MS.NOSUID | MS.NODEV, data: 'size=64m,mode=755', loop: false,
    });
    expect(parseMountOptions(['ro', 'rw']).flags).toBe(0); // rw clears ro
    expect(parseMountOptions(['defaults']).flags).toBe(0);
    expect(parseMountOptions(['loop']).loop).toBe(true);
  });

  it('mounts a read-only bind in two calls: bind, then remount ro', () => {
    const calls = mountCalls({ type: 'bind', source: '/src', options: ['rbind', 'ro'] }, '/t');
    expect(calls.map((c) => c.flags)).toEqual([MS.BIND | MS.REC | MS.RDONLY, MS.BIND | MS.REC | MS.RDONLY | MS.REMOUNT]);
    expect(calls[0]).toMatchObject({ source: '/src', target: '/t', fstype: 'bind', data: '' });
  });

  it('applies propagation in a separate call', () => {
    const calls = mountCalls({ type: 'bind', source: '/s', options: ['rbind', 'rprivate'] }, '/t');
    expect(calls).toHaveLength(2);
    expect(calls[0].flags & MS.PRIVATE).toBe(0);
    expect(calls[1].flags).toBe(MS.PRIVATE | MS.REC);
  });

  it('passes overlay options as data', () => {
    const [c] = mountCalls({ type: 'overlay', source: 'overlay', options: ['workdir=/w', 'upperdir=/u', 'lowerdir=/l1:/l2'] }, '/t');
    expect(c).toMatchObject({ chdir: '', fstype: 'overlay', data: 'workdir=/w,upperdir=/u,lowerdir=/l1:/l2', flags: 0 });
  });

  it('shortens long overlay lowerdirs relative to their common parent', () => {
    const dirs = Array.from({ length: 60 }, (_, i) => `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${i + 100}/fs`);
    const [c] = mountCalls({ type: 'overlay', source: 'overlay', options: [`lowerdir=${dirs.join(':')}`, 'upperdir=/u', 'workdir=/w'] }, '/t');
    expect(c.chdir).toBe('/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/');
    expect(c.data).toBe(`upperdir=/u,workdir=/w,lowerdir=${dirs.map((_, i) => `${i + 100}/fs`).join(':')}`);
    expect(compactLowerdir(['lowerdir=/a'])).toEqual(['', ['lowerdir=/a']]);
  });

  it('refuses loop mounts clearly', () => {
    expect(() => mountCalls({ type: 'ext4', source: '/img', options: ['loop'] }, '/t')).toThrow(/loop mounts are not supported/);
  });
});
