import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binaryName, RuntimePaths } from './binary';

test('runtime names map to shim binaries as containerd does (shim.BinaryName)', () => {
  expect(binaryName('io.containerd.runc.v2')).toBe('containerd-shim-runc-v2');
  expect(binaryName('io.containerd.berth.v2')).toBe('containerd-shim-berth-v2');
  expect(binaryName('a.b')).toBe('containerd-shim-a-b');
  expect(binaryName('runc')).toBe('');
});

describe('RuntimePaths', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rtpaths-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const exe = (name: string, mode = 0o755) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, '#!/bin/sh\n', { mode });
    return p;
  };

  test('finds the binary in its own directories first, then on PATH, and caches it', () => {
    const p = exe('containerd-shim-berth-v2');
    const paths = new RuntimePaths([dir]);
    expect(paths.resolve('io.containerd.berth.v2')).toBe(p);
    fs.rmSync(p);
    expect(paths.resolve('io.containerd.berth.v2')).toBe(p); // cached, as containerd's runtimePaths
  });

  test('an absolute path is used as it is, when it exists', () => {
    const p = exe('my-shim');
    expect(new RuntimePaths([]).resolve(p)).toBe(p);
    expect(() => new RuntimePaths([]).resolve(path.join(dir, 'none'))).toThrow(expect.objectContaining({ kind: 'NotFound' }));
  });

  test('bad names and missing or non-executable binaries are clear errors', () => {
    exe('containerd-shim-plain-v1', 0o644);
    const paths = new RuntimePaths([dir]);
    expect(() => paths.resolve('')).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
    expect(() => paths.resolve('runc')).toThrow(/invalid runtime name runc/);
    expect(() => paths.resolve('io.containerd.plain.v1')).toThrow(/binary not installed "containerd-shim-plain-v1"/);
    expect(() => paths.resolve('io.containerd.nosuch.v9')).toThrow(expect.objectContaining({ kind: 'NotFound' }));
  });
});
