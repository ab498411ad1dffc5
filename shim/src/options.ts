/**
 * Runtime options: what CreateTaskRequest.options carries, resolved with the
 * shim's defaults and kept in the bundle (options.json) for `delete`.
 *
 * Accepted: containerd.runc.v1.Options (what containerd's runc shim takes),
 * and runtimeoptions.v1.Options whose config_path names a TOML file with the
 * same keys (`BinaryName = "/usr/sbin/runc"`, what `ctr run
 * --runtime-config-path` sends).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../runtime/src/atomic-file';
import type * as protobuf from 'protobufjs';
import { InvalidArgumentError } from '../../proto/src/errdefs';

export interface RuntimeOptions {
  binaryName: string;
  /** The runtime's --root, without the namespace. */
  root: string;
  systemdCgroup: boolean;
  noPivotRoot: boolean;
  noNewKeyring: boolean;
  ioUid: number;
  ioGid: number;
  shimCgroup: string;
}

export const OPTIONS_FILE = 'options.json';

/**
 * The default runtime: $BERTH_SHIM_RUNTIME, else berth-runtime next to the
 * shim's launcher (dist/bin/), else runc on $PATH.
 */
export function defaultBinary(): string {
  if (process.env.BERTH_SHIM_RUNTIME) return process.env.BERTH_SHIM_RUNTIME;
  const berth = path.join(__dirname, 'bin', 'berth-runtime');
  return fs.existsSync(berth) ? berth : 'runc';
}

export function defaultRoot(): string {
  return process.env.BERTH_SHIM_RUNTIME_ROOT ?? '/run/containerd/berth';
}

/** google.protobuf.Any as protobufjs holds it (the well-known types keep proto field names). */
export interface AnyMessage {
  type_url?: string;
  value?: Uint8Array;
}

/** Resolves CreateTaskRequest.options (may be empty). */
export function resolveOptions(any: AnyMessage | null | undefined, root: protobuf.Root): RuntimeOptions {
  const o: Partial<RuntimeOptions> = {};
  const url = any?.type_url ?? '';
  const name = url.slice(url.lastIndexOf('/') + 1);
  if (name === 'containerd.runc.v1.Options') {
    const t = root.lookupType('containerd.runc.v1.Options');
    Object.assign(o, t.toObject(t.decode(any!.value ?? new Uint8Array()), { longs: Number }));
  } else if (name === 'runtimeoptions.v1.Options') {
    const t = root.lookupType('runtimeoptions.v1.Options');
    const ro = t.toObject(t.decode(any!.value ?? new Uint8Array())) as { configPath?: string };
    if (ro.configPath) Object.assign(o, readToml(ro.configPath));
  } else if (name !== '') {
    throw new InvalidArgumentError(`unsupported runtime options type ${url}`);
  }
  return {
    binaryName: o.binaryName || defaultBinary(),
    root: o.root || defaultRoot(),
    systemdCgroup: !!o.systemdCgroup,
    noPivotRoot: !!o.noPivotRoot,
    noNewKeyring: !!o.noNewKeyring,
    ioUid: o.ioUid ?? 0,
    ioGid: o.ioGid ?? 0,
    shimCgroup: o.shimCgroup ?? '',
  };
}

/** The flat `Key = value` subset of TOML that runtime option files use (CRI's runc options). */
export function readToml(file: string): Partial<RuntimeOptions> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`failed to read runtime config ${file}: ${(err as Error).message}`, { cause: err });
  }
  const out: Record<string, unknown> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line || line.startsWith('[')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$/.exec(line);
    if (!m) throw new InvalidArgumentError(`${file}: cannot parse line ${JSON.stringify(raw)}`);
    const key = m[1].charAt(0).toLowerCase() + m[1].slice(1).replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = m[2].trim();
    out[key] = v === 'true' ? true : v === 'false' ? false : /^-?\d+$/.test(v) ? Number(v) : JSON.parse(v.replace(/^'(.*)'$/, '"$1"'));
  }
  return out as Partial<RuntimeOptions>;
}

/** Saves the resolved options in the bundle atomically (temp, fsync, rename). */
export function writeOptions(bundle: string, o: RuntimeOptions): void {
  writeFileAtomic(path.join(bundle, OPTIONS_FILE), JSON.stringify(o), 0o600);
}

export function readOptions(bundle: string): RuntimeOptions | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(bundle, OPTIONS_FILE), 'utf8')) as RuntimeOptions;
  } catch {
    return undefined;
  }
}
