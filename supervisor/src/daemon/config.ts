/**
 * berthd's configuration: a TOML file whose keys are containerd's config.toml
 * keys wherever they mean the same (version, root, state, [grpc] address,
 * [debug] level, [plugins."<type>.<id>"] ...). A missing file means all
 * defaults; unknown keys are kept (plugins read their own table).
 */
import * as fs from 'node:fs';
import { parse, stringify } from 'smol-toml';
import { InvalidArgumentError } from '../../../proto/src/errdefs';

export interface GrpcConfig {
  address: string;
  /** Octal permission bits of the socket (containerd uses uid/gid; berth adds a mode). */
  mode: number;
  uid: number;
  gid: number;
  max_recv_message_size: number;
  max_send_message_size: number;
}

export interface DebugConfig {
  level: string;
  /** "text" or "json" (containerd's [debug] format). */
  format: string;
}

export interface Config {
  version: number;
  root: string;
  state: string;
  disabled_plugins: string[];
  required_plugins: string[];
  grpc: GrpcConfig;
  debug: DebugConfig;
  /** Per-plugin tables keyed "<type>.<id>", e.g. "io.containerd.snapshotter.v1.btrfs". */
  plugins: Record<string, Record<string, unknown>>;
}

export const DEFAULT_CONFIG_PATH = '/etc/berth/config.toml';

export function defaultConfig(): Config {
  return {
    version: 2,
    root: '/var/lib/berth',
    state: '/run/berth',
    disabled_plugins: [],
    required_plugins: [],
    grpc: {
      address: '/run/berth/berthd.sock',
      mode: 0o660,
      uid: 0,
      gid: 0,
      max_recv_message_size: 16 * 1024 * 1024,
      max_send_message_size: 16 * 1024 * 1024,
    },
    debug: { level: 'info', format: 'text' },
    plugins: {},
  };
}

/**
 * Reads the config file (absent → defaults unless `required`), overlays it on
 * the defaults and checks the types of the known keys.
 */
export function loadConfig(file: string, required = false): Config {
  const cfg = defaultConfig();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return cfg;
    throw new InvalidArgumentError(`failed to read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`failed to parse config ${file}: ${(err as Error).message}`, { cause: err });
  }
  return mergeConfig(cfg, doc, file);
}

export function mergeConfig(cfg: Config, doc: Record<string, unknown>, file = 'config'): Config {
  const want = (key: string, v: unknown, type: string): void => {
    const actual = Array.isArray(v) ? 'array' : typeof v === 'bigint' ? 'number' : typeof v;
    if (actual !== type) throw new InvalidArgumentError(`${file}: ${key} must be a ${type}, not ${actual}`);
  };
  if (doc.version !== undefined) {
    want('version', doc.version, 'number');
    if (Number(doc.version) !== 2 && Number(doc.version) !== 1) {
      throw new InvalidArgumentError(`${file}: unsupported config version ${doc.version}`);
    }
    cfg.version = Number(doc.version);
  }
  for (const key of ['root', 'state'] as const) {
    if (doc[key] !== undefined) {
      want(key, doc[key], 'string');
      cfg[key] = doc[key] as string;
    }
  }
  for (const key of ['disabled_plugins', 'required_plugins'] as const) {
    if (doc[key] !== undefined) {
      want(key, doc[key], 'array');
      cfg[key] = (doc[key] as unknown[]).map(String);
    }
  }
  const grpc = doc.grpc as Record<string, unknown> | undefined;
  if (grpc !== undefined) {
    want('grpc', grpc, 'object');
    if (grpc.address !== undefined) {
      want('grpc.address', grpc.address, 'string');
      cfg.grpc.address = grpc.address as string;
    }
    for (const key of ['uid', 'gid', 'max_recv_message_size', 'max_send_message_size'] as const) {
      if (grpc[key] !== undefined) {
        want(`grpc.${key}`, grpc[key], 'number');
        cfg.grpc[key] = Number(grpc[key]);
      }
    }
    if (grpc.mode !== undefined) {
      // "0660" as a string, or a TOML integer 0o660.
      const m = typeof grpc.mode === 'string' ? (/^0?[0-7]{3,4}$/.test(grpc.mode) ? parseInt(grpc.mode, 8) : NaN) : Number(grpc.mode);
      if (!Number.isInteger(m) || m < 0 || m > 0o7777) throw new InvalidArgumentError(`${file}: grpc.mode is not a file mode`);
      cfg.grpc.mode = m;
    }
  }
  const debug = doc.debug as Record<string, unknown> | undefined;
  if (debug !== undefined) {
    want('debug', debug, 'object');
    for (const key of ['level', 'format'] as const) {
      if (debug[key] !== undefined) {
        want(`debug.${key}`, debug[key], 'string');
        if (debug[key] !== '') cfg.debug[key] = debug[key] as string;
      }
    }
  }
  const plugins = doc.plugins as Record<string, unknown> | undefined;
  if (plugins !== undefined) {
    want('plugins', plugins, 'object');
    for (const [k, v] of Object.entries(plugins)) {
      want(`plugins."${k}"`, v, 'object');
      cfg.plugins[k] = { ...(cfg.plugins[k] ?? {}), ...(v as Record<string, unknown>) };
    }
  }
  return cfg;
}

/** The config as TOML (what `berthd config default` prints), plugins' defaults included. */
export function configToToml(cfg: Config): string {
  const { grpc, ...rest } = cfg;
  const doc = {
    ...rest,
    grpc: { ...grpc, mode: `0${grpc.mode.toString(8)}` },
  };
  return stringify(doc) + '\n';
}
