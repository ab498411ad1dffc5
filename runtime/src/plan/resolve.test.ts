import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanPath, RootfsResolver } from './resolve';

describe('RootfsResolver', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-resolve-'));
    fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    fs.mkdirSync(path.join(root, 'etc'));
    fs.symlinkSync('usr/lib', path.join(root, 'lib'));
    fs.symlinkSync('/usr', path.join(root, 'abs'));
    fs.symlinkSync('../../../../../etc', path.join(root, 'climb'));
    fs.symlinkSync('loop2', path.join(root, 'loop1'));
    fs.symlinkSync('loop1', path.join(root, 'loop2'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('cleans paths lexically', () => {
    expect(cleanPath('a//b/./c/../d')).toBe('/a/b/d');
    expect(cleanPath('/../..')).toBe('/');
  });

  test('follows relative and absolute symlinks inside the rootfs', () => {
    const r = new RootfsResolver(root);
    expect(r.resolve('/lib/x')).toBe('/usr/lib/x');
    expect(r.resolve('/abs/lib')).toBe('/usr/lib');
    expect(r.hostPath(r.resolve('/abs/lib'))).toBe(path.join(root, 'usr/lib'));
    expect(r.resolve('/missing/a/b')).toBe('/missing/a/b');
  });

  test('refuses a symlink that climbs above the root, and loops', () => {
    const r = new RootfsResolver(root);
    expect(() => r.resolve('/climb/passwd')).toThrow(/points above the root/);
    expect(() => r.resolve('/loop1/x')).toThrow(/too many levels of symbolic links/);
  });

  test('paths under a planned bind mount are looked up in its source; under a fresh fs there are no symlinks', () => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-resolve-src-'));
    try {
      fs.symlinkSync('/etc', path.join(src, 'toetc'));
      const r = new RootfsResolver(root);
      r.addMount({ destination: '/mnt', bindSource: src });
      r.addMount({ destination: '/usr/lib' });
      expect(r.resolve('/mnt/toetc/x')).toBe('/etc/x');
      expect(r.kind('/usr/lib/anything')).toBe('unknown');
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  });
});
