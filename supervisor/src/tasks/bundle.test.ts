import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listBundles, newBundle } from './bundle';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bundle-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const spec = Buffer.from(JSON.stringify({ ociVersion: '1.0.2', root: { path: 'rootfs' } }));

test('a bundle as containerd lays it out: state/<ns>/<id> with config.json, rootfs/ and work → root/<ns>/<id>', () => {
  const b = newBundle(path.join(dir, 'root'), path.join(dir, 'state'), 'ns1', 'c1', spec);
  expect(b).toEqual({ id: 'c1', namespace: 'ns1', path: path.join(dir, 'state', 'ns1', 'c1') });
  expect(fs.readFileSync(path.join(b.path, 'config.json'))).toEqual(spec);
  expect(fs.statSync(path.join(b.path, 'rootfs')).isDirectory()).toBe(true);
  expect(fs.readlinkSync(path.join(b.path, 'work'))).toBe(path.join(dir, 'root', 'ns1', 'c1'));
  expect(fs.statSync(b.path).mode & 0o777).toBe(0o700);
  expect(fs.readdirSync(b.path).sort()).toEqual(['config.json', 'rootfs', 'work']); // no temp file left
  expect(listBundles(path.join(dir, 'state'))).toEqual([b]);
});

test('a second bundle for the same task is AlreadyExists and leaves the first alone; bad ids are refused', () => {
  const b = newBundle(path.join(dir, 'root'), path.join(dir, 'state'), 'ns1', 'c1', spec);
  expect(() => newBundle(path.join(dir, 'root'), path.join(dir, 'state'), 'ns1', 'c1', spec)).toThrow(expect.objectContaining({ kind: 'AlreadyExists' }));
  expect(fs.existsSync(path.join(b.path, 'config.json'))).toBe(true);
  expect(() => newBundle(path.join(dir, 'root'), path.join(dir, 'state'), 'ns1', '../escape', spec)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
});

test('a user-namespaced spec makes the bundle reachable by the remapped root group', () => {
  const userns = Buffer.from(JSON.stringify({ linux: { gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] } }));
  const b = newBundle(path.join(dir, 'root'), path.join(dir, 'state'), 'ns1', 'u1', userns);
  const st = fs.statSync(b.path);
  expect(st.mode & 0o777).toBe(0o710);
  if (process.getuid?.() === 0) expect(st.gid).toBe(100000);
});

test('half-removed (hidden) bundles are finished off by listBundles, never loaded', () => {
  fs.mkdirSync(path.join(dir, 'state', 'ns1', '.c9', 'rootfs'), { recursive: true });
  expect(listBundles(path.join(dir, 'state'))).toEqual([]);
  expect(fs.existsSync(path.join(dir, 'state', 'ns1', '.c9'))).toBe(false);
});
