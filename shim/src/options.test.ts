import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readOptions, readToml, resolveOptions, writeOptions } from './options';
import { shimRoot } from './protos';

describe('runtime options', () => {
  const root = shimRoot();

  it('reads containerd.runc.v1.Options', () => {
    const t = root.lookupType('containerd.runc.v1.Options');
    const value = t.encode(t.fromObject({ binaryName: '/usr/sbin/crun', root: '/run/x', systemdCgroup: true, ioUid: 5 })).finish();
    expect(resolveOptions({ type_url: 'containerd.runc.v1.Options', value }, root)).toMatchObject({
      binaryName: '/usr/sbin/crun', root: '/run/x', systemdCgroup: true, ioUid: 5, noPivotRoot: false,
    });
  });

  it('reads a runtimeoptions.v1.Options TOML file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-opts-'));
    const file = path.join(dir, 'runtime.toml');
    fs.writeFileSync(file, '# runc options\nBinaryName = "/usr/sbin/runc"\nSystemdCgroup = false\nNoPivotRoot = true\n');
    const t = root.lookupType('runtimeoptions.v1.Options');
    const value = t.encode(t.fromObject({ configPath: file })).finish();
    expect(resolveOptions({ type_url: 'runtimeoptions.v1.Options', value }, root)).toMatchObject({ binaryName: '/usr/sbin/runc', noPivotRoot: true });
    expect(readToml(file)).toEqual({ binaryName: '/usr/sbin/runc', systemdCgroup: false, noPivotRoot: true });
    fs.rmSync(dir, { recursive: true });
  });

  it('defaults the runtime from $BERTH_SHIM_RUNTIME', () => {
    const saved = process.env.BERTH_SHIM_RUNTIME;
    process.env.BERTH_SHIM_RUNTIME = '/opt/my-runc';
    try {
      expect(resolveOptions(undefined, root).binaryName).toBe('/opt/my-runc');
    } finally {
      if (saved === undefined) delete process.env.BERTH_SHIM_RUNTIME;
      else process.env.BERTH_SHIM_RUNTIME = saved;
    }
  });

  it('refuses options of an unknown type', () => {
    expect(() => resolveOptions({ type_url: 'foo.Bar', value: new Uint8Array() }, root)).toThrow(/unsupported runtime options type foo.Bar/);
  });

  it('keeps the resolved options in the bundle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-opts-'));
    const o = resolveOptions(undefined, root);
    writeOptions(dir, o);
    expect(readOptions(dir)).toEqual(o);
    expect(readOptions(path.join(dir, 'nope'))).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });
});
