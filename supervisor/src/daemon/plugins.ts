/**
 * The plugin registry, as containerd's plugin package: a plugin registers
 * {type, id, requires, config, init}; the daemon initialises them in
 * dependency order; init returns the instance or throws skip(reason) (or any
 * error), and introspection lists every plugin with its status.
 *
 * Snapshotters register as type io.containerd.snapshotter.v1 (ids overlayfs,
 * native, btrfs, devmapper), the differ as io.containerd.differ.v1, the diff
 * service as io.containerd.grpc.v1 "diff": nothing else changes.
 */
import type { Logger } from './logging';

/** The plugin types, as containerd's plugin/plugin.go. */
export const PluginType = {
  Content: 'io.containerd.content.v1',
  Metadata: 'io.containerd.metadata.v1',
  Snapshot: 'io.containerd.snapshotter.v1',
  Differ: 'io.containerd.differ.v1',
  Event: 'io.containerd.event.v1',
  GC: 'io.containerd.gc.v1',
  Service: 'io.containerd.service.v1',
  GRPC: 'io.containerd.grpc.v1',
  Runtime: 'io.containerd.runtime.v2',
  Lease: 'io.containerd.lease.v1',
  Internal: 'io.containerd.internal.v1',
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant: string;
}

export interface InitContext {
  /** <root>/<type>.<id>: the plugin's own directory under the daemon root. */
  root: string;
  /** <state>/<type>.<id>. */
  state: string;
  /** The plugin's config: its defaults overlaid with [plugins."<type>.<id>"]. */
  config: Record<string, unknown>;
  log: Logger;
  /** Values the plugin publishes to introspection (e.g. root). */
  exports: Record<string, string>;
  /** Instance of the first ready plugin of a type; throws when none. */
  get<T>(type: string): T;
  /** Every ready instance of a type, by id. */
  getAll<T>(type: string): Map<string, T>;
  getByID<T>(type: string, id: string): T;
  /** Daemon-wide facts plugins may need. */
  daemon: { root: string; state: string; address: string };
  /** Every plugin with its status (for introspection). */
  entries(): readonly PluginEntry[];
}

export interface Registration<T = unknown> {
  type: string;
  id: string;
  /** Types this plugin needs initialised first; "*" means every other type. */
  requires?: string[];
  /** Default config, printed by `berthd config default`. */
  config?: Record<string, unknown>;
  capabilities?: string[];
  platforms?: Platform[];
  init(ic: InitContext): Promise<T> | T;
}

/** Thrown by init to skip a plugin with a reason (containerd's ErrSkipPlugin). */
export class SkipPlugin extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipPlugin';
  }
}

/**
 * A plugin's config that cannot be decoded (a value of the wrong type, a bad
 * duration): the daemon does not start, as containerd refuses such a config
 * when it reads it, instead of running with the plugin and its dependents gone.
 */
export class PluginConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PluginConfigError';
  }
}

export function skip(reason: string): never {
  throw new SkipPlugin(reason);
}

export type PluginStatus = 'ok' | 'skipped' | 'error' | 'disabled';

export interface PluginEntry {
  registration: Registration;
  status: PluginStatus;
  instance?: unknown;
  error?: Error;
  exports: Record<string, string>;
}

const registry: Registration[] = [];

/** Registers a plugin; duplicate type+id is a programming error. */
export function register<T>(r: Registration<T>): void {
  if (registry.some((x) => x.type === r.type && x.id === r.id)) {
    throw new Error(`plugin ${r.type}.${r.id} registered twice`);
  }
  registry.push(r as Registration);
}

export function registrations(): readonly Registration[] {
  return registry;
}

/** Orders registrations so that every plugin comes after the types it requires. */
export function graph(regs: readonly Registration[]): Registration[] {
  const out: Registration[] = [];
  const added = new Set<Registration>();
  const visiting = new Set<Registration>();
  const visit = (r: Registration): void => {
    if (added.has(r)) return;
    if (visiting.has(r)) throw new Error(`plugin dependency cycle at ${r.type}.${r.id}`);
    visiting.add(r);
    for (const req of r.requires ?? []) {
      if (req === '*') continue;
      for (const dep of regs) if (dep.type === req && dep !== r) visit(dep);
    }
    visiting.delete(r);
    added.add(r);
    out.push(r);
  };
  for (const r of regs) if (!(r.requires ?? []).includes('*')) visit(r);
  for (const r of regs) visit(r);
  return out;
}

/** The initialised plugin set of one daemon. */
export class PluginSet {
  readonly entries: PluginEntry[] = [];

  constructor(
    private readonly opts: {
      root: string;
      state: string;
      address: string;
      config: Record<string, Record<string, unknown>>;
      disabled: string[];
      log: Logger;
    },
  ) {}

  get<T>(type: string): T {
    const e = this.entries.find((x) => x.registration.type === type && x.status === 'ok');
    if (!e) throw new Error(`no plugin of type ${type} is ready`);
    return e.instance as T;
  }

  getAll<T>(type: string): Map<string, T> {
    const m = new Map<string, T>();
    for (const e of this.entries) {
      if (e.registration.type === type && e.status === 'ok') m.set(e.registration.id, e.instance as T);
    }
    return m;
  }

  getByID<T>(type: string, id: string): T {
    const e = this.entries.find((x) => x.registration.type === type && x.registration.id === id);
    if (!e || e.status !== 'ok') throw new Error(`plugin ${type}.${id} is not ready`);
    return e.instance as T;
  }

  /** Initialises every registration in dependency order. */
  async init(regs: readonly Registration[]): Promise<void> {
    const path = await import('node:path');
    for (const r of graph(regs)) {
      const name = `${r.type}.${r.id}`;
      const entry: PluginEntry = { registration: r, status: 'ok', exports: {} };
      this.entries.push(entry);
      if (this.opts.disabled.includes(name) || this.opts.disabled.includes(r.id)) {
        entry.status = 'disabled';
        continue;
      }
      const log = this.opts.log.child({ component: 'plugin', type: r.type, id: r.id });
      const ic: InitContext = {
        root: path.join(this.opts.root, name),
        state: path.join(this.opts.state, name),
        config: { ...(r.config ?? {}), ...(this.opts.config[name] ?? {}) },
        log,
        exports: entry.exports,
        get: (t) => this.get(t),
        getAll: (t) => this.getAll(t),
        getByID: (t, id) => this.getByID(t, id),
        daemon: { root: this.opts.root, state: this.opts.state, address: this.opts.address },
        entries: () => this.entries,
      };
      try {
        log.debug('loading plugin');
        entry.instance = await r.init(ic);
      } catch (err) {
        entry.error = err as Error;
        if (err instanceof PluginConfigError) throw new PluginConfigError(`plugins."${name}": ${err.message}`, { cause: err });
        if (err instanceof SkipPlugin) {
          entry.status = 'skipped';
          log.info('skip loading plugin', { reason: err.message });
        } else {
          entry.status = 'error';
          log.warn('failed to load plugin', { err: (err as Error).message });
        }
      }
    }
  }

  /** Closes instances that have close(), last initialised first. */
  async close(): Promise<void> {
    for (const e of [...this.entries].reverse()) {
      const inst = e.instance as { close?: () => unknown } | undefined;
      if (e.status === 'ok' && inst && typeof inst.close === 'function') {
        try {
          await inst.close();
        } catch (err) {
          this.opts.log.warn('failed to close plugin', { type: e.registration.type, id: e.registration.id, err });
        }
      }
    }
  }
}
