/**
 * Rootfs and mounts, looked at from inside the container (mountinfo, writes
 * that must fail) and from the host (nothing may land outside the rootfs).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll, mountsBelow, track } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { errorMessage, isPeer, Runtime } from '../support/runtime';

/** mountinfo fields of the mount at `where`, as seen inside the container. */
function mountAt(mountinfo: string, where: string): { options: string; fstype: string; superOptions: string; optional: string } | undefined {
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f[4] !== where) continue;
    const sep = f.indexOf('-');
    return { options: f[5], optional: f.slice(6, sep).join(' '), fstype: f[sep + 1], superOptions: f[sep + 3] };
  }
  return undefined;
}

describeIf(requires('root'))('mounts', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  test('the default mounts are there with runc\'s options, and the rootfs is read-only', () => {
    const b = setupBundle(['sh', '-c', 'cat /proc/self/mountinfo; echo ---; touch /x 2>&1; echo rc=$?']);
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout;
    const [mi, rest] = out.split('---\n');
    expect(mountAt(mi, '/')?.options).toMatch(/^ro,/);
    expect(mountAt(mi, '/proc')?.fstype).toBe('proc');
    const dev = mountAt(mi, '/dev')!;
    expect(dev.fstype).toBe('tmpfs');
    expect(dev.options).toContain('nosuid');
    expect(dev.superOptions).toMatch(/size=65536k/);
    expect(dev.superOptions).toMatch(/mode=755/);
    expect(mountAt(mi, '/dev/pts')?.fstype).toBe('devpts');
    expect(mountAt(mi, '/dev/shm')?.fstype).toBe('tmpfs');
    expect(mountAt(mi, '/dev/mqueue')?.fstype).toBe('mqueue');
    expect(mountAt(mi, '/sys')?.options).toMatch(/^ro,/);
    expect(mountAt(mi, '/sys/fs/cgroup')?.fstype).toBe('tmpfs');
    expect(rest).toMatch(/Read-only file system/);
    expect(rest).toMatch(/rc=1/);
  });

  test('/dev is populated like runc\'s: devices, links, ptmx', () => {
    const b = setupBundle(['sh', '-c', 'ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; readlink /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx']);
    b.update((c) => (c.linux!.devices = [{ path: '/dev/fuse-like', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }]));
    b.update((c) => (c.process!.args = ['sh', '-c', 'for d in null zero full random urandom tty fuse-like; do stat -c "%n %F %t:%T %a" /dev/$d; done; for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done']));
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout.trim().split('\n');
    expect(out).toEqual([
      '/dev/null character special file 1:3 666',
      '/dev/zero character special file 1:5 666',
      '/dev/full character special file 1:7 666',
      '/dev/random character special file 1:8 666',
      '/dev/urandom character special file 1:9 666',
      '/dev/tty character special file 5:0 666',
      '/dev/fuse-like character special file a:e5 600',
      '/proc/self/fd',
      '/proc/self/fd/0',
      '/proc/self/fd/1',
      '/proc/self/fd/2',
      'pts/ptmx',
    ]);
  });

  test('bind mounts of a directory and a file, read-only where asked', () => {
    const host = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-src-'));
    track.dir(host);
    fs.writeFileSync(path.join(host, 'hello'), 'from the host\n');
    const file = path.join(host, 'single');
    fs.writeFileSync(file, 'one file\n');
    const b = setupBundle(['sh', '-c', 'cat /data/hello /mnt/deep/single; echo new > /data/w 2>/dev/null || echo ro-refused; echo x > /rw/w && echo rw-ok']);
    b.update((c) => {
      c.mounts!.push({ destination: '/data', type: 'bind', source: host, options: ['rbind', 'ro'] });
      c.mounts!.push({ destination: '/mnt/deep/single', type: 'bind', source: file, options: ['bind'] });
      c.mounts!.push({ destination: '/rw', type: 'bind', source: host, options: ['rbind', 'rw'] });
    });
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout;
    expect(out).toBe('from the host\none file\nro-refused\nrw-ok\n');
    expect(fs.readFileSync(path.join(host, 'w'), 'utf8')).toBe('x\n');
  });

  test('tmpfs options, propagation flags and recursive read-only', () => {
    const host = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-src-'));
    track.dir(host);
    const b = setupBundle(['sh', '-c', 'cat /proc/self/mountinfo']);
    b.update((c) => {
      c.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=700', 'noexec'] });
      c.mounts!.push({ destination: '/shared', type: 'bind', source: host, options: ['rbind', 'rshared'] });
      c.mounts!.push({ destination: '/rro', type: 'bind', source: host, options: ['rbind', 'rro'] });
    });
    const mi = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout;
    const scratch = mountAt(mi, '/scratch')!;
    expect(scratch.superOptions).toMatch(/size=1024k/);
    expect(scratch.superOptions).toMatch(/mode=700/);
    expect(scratch.options).toContain('noexec');
    expect(mountAt(mi, '/shared')!.optional).toMatch(/shared:\d+/);
    expect(mountAt(mi, '/rro')!.options).toMatch(/^ro,/);
  });

  test('maskedPaths hide files and directories; readonlyPaths cannot be written', () => {
    const b = setupBundle(['sh', '-c', 'wc -c < /proc/uptime; ls /sys/kernel | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo ro']);
    b.update((c) => {
      c.linux!.maskedPaths = ['/proc/uptime', '/sys/kernel', '/proc/does-not-exist'];
    });
    expect(rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout).toBe('0\n0\nro\n');
  });

  test('a mount through a symlink resolves inside the rootfs, never on the host', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-outside-'));
    track.dir(outside);
    const b = setupBundle(['sh', '-c', 'cat /proc/self/mountinfo']);
    // An absolute link: inside the container it means <rootfs>/<outside>, not the host's dir.
    fs.symlinkSync(outside, path.join(b.rootfs, 'link'));
    b.update((c) => c.mounts!.push({ destination: '/link/sub', type: 'tmpfs', source: 'tmpfs' }));
    b.update((c) => (c.root!.readonly = false));
    const mi = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout;
    expect(mountAt(mi, `${outside}/sub`)?.fstype).toBe('tmpfs');
    expect(fs.existsSync(path.join(outside, 'sub'))).toBe(false);
    expect(fs.existsSync(path.join(b.rootfs, outside, 'sub'))).toBe(true);
  });

  // runc re-roots such a link silently; the issue asks berth to refuse it (berth-only).
  (isPeer() ? test.skip : test)('a symlink that climbs out of the rootfs is refused, and nothing is left behind', () => {
    const b = setupBundle(['true']);
    fs.symlinkSync('../../../../../../../tmp', path.join(b.rootfs, 'escape'));
    b.update((c) => c.mounts!.push({ destination: '/escape/x', type: 'tmpfs', source: 'tmpfs' }));
    const id = uniqueId();
    const r = rt.run(['create', '--bundle', b.dir, rt.track(id)]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/escape/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(rt.root, id))).toBe(false);
    expect(mountsBelow(b.dir)).toEqual([]);
  });

  test('--no-pivot runs the container with chroot semantics', () => {
    const b = setupBundle(['sh', '-c', 'ls /bin/busybox && cat /proc/self/mountinfo | wc -l']);
    const r = rt.ok(['run', '--no-pivot', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.stdout).toMatch(/^\/bin\/busybox\n\d+\n$/);
  });

  test('tmpcopyup: a tmpfs starts with what the directory held, and writes stay in it', () => {
    const b = setupBundle(['sh', '-c', 'cat /opt/data/a /opt/data/sub/b; readlink /opt/data/link; stat -c "%a %u" /opt/data/sub; echo new > /opt/data/a; grep " /opt/data " /proc/self/mountinfo | cut -d" " -f9']);
    fs.mkdirSync(path.join(b.rootfs, 'opt/data/sub'), { recursive: true });
    fs.writeFileSync(path.join(b.rootfs, 'opt/data/a'), 'from the image\n');
    fs.writeFileSync(path.join(b.rootfs, 'opt/data/sub/b'), 'deeper\n');
    fs.chmodSync(path.join(b.rootfs, 'opt/data/sub'), 0o751);
    fs.chownSync(path.join(b.rootfs, 'opt/data/sub'), 1000, 1000);
    fs.symlinkSync('sub/b', path.join(b.rootfs, 'opt/data/link'));
    b.update((c) => c.mounts!.push({ destination: '/opt/data', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'mode=755'] }));
    const out = rt.ok(['run', '--bundle', b.dir, rt.track(uniqueId())]).stdout;
    expect(out).toBe('from the image\ndeeper\nsub/b\n751 1000\ntmpfs\n');
    expect(fs.readFileSync(path.join(b.rootfs, 'opt/data/a'), 'utf8')).toBe('from the image\n');
  });

  test('nothing the container mounted is visible on the host afterwards', () => {
    const b = setupBundle(['true']);
    const id = rt.track(uniqueId());
    rt.ok(['create', '--bundle', b.dir, id]);
    expect(mountsBelow(b.dir)).toEqual([]);
    rt.ok(['start', id]);
    rt.ok(['delete', '--force', id]);
    expect(mountsBelow(b.dir)).toEqual([]);
  });
});
