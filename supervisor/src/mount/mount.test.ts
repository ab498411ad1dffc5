import { compactLowerdirOption, mountCommand, readonlyMounts } from './mount';

describe('mount data', () => {
  it('compacts long lowerdir lists relative to their common parent (containerd compactLowerdirOption)', () => {
    const dirs = Array.from({ length: 128 }, (_, i) => `/var/lib/berth/overlayfs/snapshots/${i + 1}/fs`);
    const [dir, opts] = compactLowerdirOption(['index=off', `lowerdir=${dirs.join(':')}`]);
    expect(dir).toBe('/var/lib/berth/overlayfs/snapshots');
    expect(opts).toEqual(['index=off', `lowerdir=${dirs.map((_, i) => `${i + 1}/fs`).join(':')}`]);
    expect(compactLowerdirOption(['lowerdir=/a/fs'])).toEqual(['', ['lowerdir=/a/fs']]);
    // ids share prefixes: back off to the whole directory
    expect(compactLowerdirOption(['lowerdir=/s/12/fs:/s/1/fs'])[0]).toBe('/s');
  });
  it('runs mount(8) from the common dir only when the data nears a page', () => {
    const dirs = Array.from({ length: 128 }, (_, i) => `/var/lib/berth/overlayfs/snapshots/${i + 1}/fs`);
    const long = mountCommand({ type: 'overlay', source: 'overlay', options: [`lowerdir=${dirs.join(':')}`] }, '/mnt');
    expect(long.cwd).toBe('/var/lib/berth/overlayfs/snapshots');
    const short = mountCommand({ type: 'overlay', source: 'overlay', options: ['lowerdir=/a:/b'] }, '/mnt');
    expect(short).toEqual({ args: ['-t', 'overlay', '--no-mtab', '-n', '-o', 'lowerdir=/a:/b', 'overlay', '/mnt'], cwd: undefined });
    expect(mountCommand({ type: 'bind', source: '/src', options: ['ro', 'rbind'] }, '/mnt').args).toEqual(['--no-mtab', '-n', '-o', 'ro,rbind', '/src', '/mnt']);
  });
  it('makes read-only variants', () => {
    expect(readonlyMounts([{ type: 'overlay', source: 'overlay', options: ['workdir=/w', 'upperdir=/u', 'lowerdir=/l'] }])[0].options).toEqual(['lowerdir=/l', 'ro']);
    expect(readonlyMounts([{ type: 'bind', source: '/s', options: ['rw', 'rbind'] }])[0].options).toEqual(['rbind', 'ro']);
  });
});
