import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_ENV, defaultSpec, mergeEnv, withHostNetwork, withImageConfig, withUser } from './run-spec';

test('the default spec is containerd\'s default unix spec', () => {
  const s = defaultSpec('ns1', 'c1');
  expect(s.root).toEqual({ path: 'rootfs' });
  expect(s.linux.cgroupsPath).toBe('/ns1/c1');
  expect(s.linux.namespaces.map((n: { type: string }) => n.type)).toEqual(['pid', 'ipc', 'uts', 'mount', 'network']);
  expect(s.mounts.map((m: { destination: string }) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/run']);
  expect(s.process.capabilities.bounding).toHaveLength(14);
  expect(s.process.noNewPrivileges).toBe(true);
  expect(s.linux.resources.devices[0]).toEqual({ allow: false, access: 'rwm' });
  expect(s.linux.resources.devices).toContainEqual({ allow: true, type: 'c', major: 136, access: 'rwm' }); // /dev/pts/*
  // two specs share nothing
  const t = defaultSpec('ns1', 'c2');
  t.process.capabilities.bounding.pop();
  expect(s.process.capabilities.bounding).toHaveLength(14);
});

test('image config: entrypoint + cmd, args replace cmd, env defaults to PATH, working dir', () => {
  const s = defaultSpec('n', 'c');
  withImageConfig(s, { Entrypoint: ['/init'], Cmd: ['--serve'], WorkingDir: '/srv' }, []);
  expect(s.process).toMatchObject({ args: ['/init', '--serve'], env: DEFAULT_ENV, cwd: '/srv' });
  const u = defaultSpec('n', 'c');
  u.process.env = ['A=2'];
  withImageConfig(u, { Env: ['A=1', 'B=1'], Cmd: ['sh'] }, ['echo', 'hi']);
  expect(u.process).toMatchObject({ args: ['echo', 'hi'], env: ['A=2', 'B=1'], cwd: '/' });
});

test('mergeEnv replaces by key and appends the rest', () => {
  expect(mergeEnv(['PATH=/bin', 'X=1'], ['X=2', 'Y=3'])).toEqual(['PATH=/bin', 'X=2', 'Y=3']);
});

test('users: numbers, or names from the rootfs; unknown names are refused', () => {
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spec-'));
  try {
    fs.mkdirSync(path.join(rootfs, 'etc'));
    fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0::/:/bin/sh\nweb:x:33:44::/:/bin/sh\n');
    fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\n');
    const s = defaultSpec('n', 'c');
    withUser(s, '1000:1001');
    expect(s.process.user).toEqual({ uid: 1000, gid: 1001 });
    withUser(s, 'web', rootfs);
    expect(s.process.user).toEqual({ uid: 33, gid: 44 });
    withUser(s, '33', rootfs);
    expect(s.process.user).toEqual({ uid: 33, gid: 44 });
    withUser(s, 'web:staff', rootfs);
    expect(s.process.user).toEqual({ uid: 33, gid: 50 });
    expect(() => withUser(s, 'nobody', rootfs)).toThrow(/no such user "nobody"/);
    expect(() => withUser(s, 'web')).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
});

test('--net-host drops the network namespace', () => {
  const s = defaultSpec('n', 'c');
  withHostNetwork(s);
  expect(s.linux.namespaces.map((n: { type: string }) => n.type)).not.toContain('network');
});
