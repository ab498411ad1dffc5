/**
 * The shim manager (containerd runtime/v2 manager.go + shim_load.go): one
 * shim per task, started from the bundle with the runtime's binary, driven
 * over ttrpc; the tasks of every namespace, reloaded from the bundles'
 * `address` files when berthd starts again; dead shims cleaned up through
 * their `delete` action, with TaskExit/TaskDelete published for them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlreadyExistsError, NotFoundError, isNotFound } from '../../../proto/src/errdefs';
import { TtrpcClient } from '../../../shim/src/ttrpc/client';
import type { Logger } from '../daemon/logging';
import { decodeEvent, type Exchange } from '../events/exchange';
import { now } from '../services/grpc-util';
import { deleteShim, RuntimePaths, startShim, type Exit, type ShimBinaryConfig } from './binary';
import { ADDRESS_FILE, SHIM_BINARY_FILE, deleteBundle, listBundles, newBundle, readdir, type Bundle } from './bundle';
import { ExitWaiters } from './exits';
import type { AnyMsg } from './protos';
import { isClosed, ShimTask, type Mount, type TaskIO } from './shim';
import { FifoPool, ShimLog } from './shim-log';

export interface CreateOpts {
  /** config.json: the container's spec as stored. */
  spec: Buffer;
  /** The runtime name (io.containerd.runc.v2) or a shim binary's path. */
  runtime: string;
  runtimeOptions: AnyMsg | null;
  taskOptions: AnyMsg | null;
  rootfs: Mount[];
  io: TaskIO;
}

export interface ManagerConfig {
  /** <root>/io.containerd.runtime.v2.task: work dirs. */
  root: string;
  /** <state>/io.containerd.runtime.v2.task: bundles. */
  state: string;
  /** berthd's gRPC address and ttrpc (events) address. */
  address: string;
  ttrpcAddress: string;
  publishBinary: string;
  /** Where shim binaries are looked for before PATH (berthd's own dist/bin). */
  binaryDirs: string[];
  events: Exchange;
  /** The runtime name of a container, for a bundle without shim-binary-path. */
  containerRuntime: (ns: string, id: string) => string | undefined;
  log: Logger;
  debug: boolean;
}

const LOAD_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;

const keyOf = (ns: string, id: string) => `${ns}/${id}`;

export class ShimManager {
  private readonly tasks = new Map<string, ShimTask>();
  private readonly creating = new Set<string>();
  private readonly paths: RuntimePaths;
  private readonly waiters = new ExitWaiters();
  private readonly unsubscribe: () => void;
  private readonly fifos: FifoPool;
  private closing = false;

  constructor(private readonly cfg: ManagerConfig) {
    this.paths = new RuntimePaths(cfg.binaryDirs);
    this.fifos = new FifoPool(path.join(cfg.state, '.log-fifo'));
    this.fifos.refill();
    this.unsubscribe = cfg.events.subscribe(['topic=="/tasks/exit"'], (env) => {
      if (!env.event) return;
      const e = decodeEvent(env.event) as { containerId?: string; id?: string; pid?: number; exitStatus?: number; exitedAt?: Exit['exitedAt'] } | undefined;
      if (!e?.containerId) return;
      this.waiters.exit(env.namespace, e.containerId, e.id || e.containerId, {
        pid: e.pid ?? 0,
        status: e.exitStatus ?? 0,
        exitedAt: e.exitedAt ?? { seconds: 0, nanos: 0 },
      });
    });
  }

  private binaryConfig(binary: string): ShimBinaryConfig {
    return { binary, address: this.cfg.address, ttrpcAddress: this.cfg.ttrpcAddress, publishBinary: this.cfg.publishBinary, debug: this.cfg.debug };
  }

  get(ns: string, id: string): ShimTask {
    const t = this.tasks.get(keyOf(ns, id));
    if (!t) throw new NotFoundError(`task ${id} not found`);
    return t;
  }

  has(ns: string, id: string): boolean {
    return this.tasks.has(keyOf(ns, id)) || this.creating.has(keyOf(ns, id));
  }

  list(ns: string): ShimTask[] {
    return [...this.tasks.values()].filter((t) => t.namespace === ns);
  }

  /** Starts a shim for the task and creates it there (TaskManager.Create). */
  async create(ns: string, id: string, opts: CreateOpts): Promise<ShimTask> {
    const key = keyOf(ns, id);
    if (this.has(ns, id)) throw new AlreadyExistsError(`task ${id}: already exists`);
    this.creating.add(key);
    const log = this.cfg.log.child({ namespace: ns, id });
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const timings: Record<string, number> = {};
    try {
      let binary: string;
      try {
        binary = this.paths.resolve(opts.runtime);
      } catch (err) {
        throw new Error(`failed to start shim: failed to resolve runtime path: ${(err as Error).message}`, { cause: err });
      }
      const bcfg = this.binaryConfig(binary);
      const bundle = newBundle(this.cfg.root, this.cfg.state, ns, id, opts.spec);
      let shimLog: ShimLog | undefined;
      let started = false;
      try {
        shimLog = await ShimLog.open(bundle, log.child({ component: 'shim' }), this.fifos);
        timings.bundle_ms = ms();
        let client: TtrpcClient;
        try {
          const address = await startShim(bcfg, bundle, opts.taskOptions ?? opts.runtimeOptions);
          started = true;
          timings.shim_start_ms = ms();
          client = await TtrpcClient.connect(address, CONNECT_TIMEOUT_MS);
        } catch (err) {
          throw new Error(`failed to start shim: start failed: ${(err as Error).message}`, { cause: err });
        }
        const t = new ShimTask(bundle, client, bcfg, shimLog);
        try {
          await t.create({ rootfs: opts.rootfs, io: opts.io, checkpoint: '', options: opts.taskOptions ?? opts.runtimeOptions });
        } catch (err) {
          t.deleting = true;
          await this.abandon(t, log);
          throw new Error(`failed to create shim task: ${(err as Error).message}`, { cause: err });
        }
        timings.created_ms = ms();
        this.tasks.set(key, t);
        client.on('close', () => this.onShimClose(t));
        if (client.closed) this.onShimClose(t);
        log.info('task created', { pid: t.pid, runtime: opts.runtime });
        log.debug('task create timings', { component: 'tasks.shims', ...timings });
        return t;
      } catch (err) {
        shimLog?.close();
        if (started) {
          // whatever the shim left (a half-created container): its delete action removes it
          await deleteShim(bcfg, bundle).catch((e) => log.debug('shim delete after failed create', { err: (e as Error).message }));
        }
        await deleteBundle(bundle).catch((e) => log.error('failed to delete bundle', { path: bundle.path, err: (e as Error).message }));
        throw err;
      }
    } finally {
      this.creating.delete(key);
    }
  }

  /** A task whose create failed: delete it on the shim, ask the shim to exit, disconnect. */
  private async abandon(t: ShimTask, log: Logger): Promise<void> {
    try {
      await t.delete();
    } catch (err) {
      if (!isNotFound(err) && !isClosed(err)) log.debug('failed to delete task after failed create', { err: (err as Error).message });
    }
    await t.shutdown().catch((err) => log.debug('failed to shut down shim', { err: (err as Error).message }));
    t.close();
  }

  /** Deletes the task on its shim, shuts the shim down and removes the bundle (shimTask.delete). */
  async delete(ns: string, id: string): Promise<Exit> {
    const t = this.get(ns, id);
    const log = this.cfg.log.child({ namespace: ns, id });
    t.deleting = true;
    let exit: Exit | undefined;
    let shimErr: unknown;
    try {
      exit = await t.delete();
    } catch (err) {
      if (!isClosed(err) && !isNotFound(err)) {
        t.deleting = false;
        if (t.client.closed) this.onShimClose(t); // it died meanwhile
        throw err;
      }
      shimErr = err;
    }
    this.tasks.delete(keyOf(ns, id));
    await t.shutdown().catch((err) => log.warn('failed to shutdown shim task', { err: (err as Error).message }));
    t.close();
    await deleteBundle(t.bundle).catch((err) => log.error('failed to delete bundle', { path: t.bundle.path, err: (err as Error).message }));
    if (!exit) {
      if (isClosed(shimErr)) {
        // the shim died under the delete: its cleanup tells the exit
        return this.reap(t.bundle, t.binary, t.pid, false, log).catch(() => ({ pid: t.pid, status: 255, exitedAt: now() }));
      }
      throw shimErr;
    }
    log.info('task deleted', { exit_status: exit.status });
    return exit;
  }

  /**
   * Waits for a process's exit: the shim's Wait, or the TaskExit event
   * (whichever comes first), or, when the shim dies, the exit its cleanup
   * reported.
   */
  async wait(t: ShimTask, execId: string): Promise<{ status: number; exitedAt: Exit['exitedAt'] }> {
    const pid = execId ? t.execPids.get(execId) ?? 0 : t.pid;
    const w = this.waiters.add(t.namespace, t.id, execId || t.id, pid);
    try {
      return await Promise.race([
        t.wait(execId).catch(async (err) => {
          if (!isClosed(err)) throw err;
          return t.dead;
        }),
        w.exited,
        t.dead,
      ]);
    } finally {
      w.cancel();
    }
  }

  private onShimClose(t: ShimTask): void {
    if (this.closing || t.deleting || this.tasks.get(keyOf(t.namespace, t.id)) !== t) return;
    const log = this.cfg.log.child({ namespace: t.namespace, id: t.id });
    log.info('shim disconnected');
    t.log?.close();
    void this.reap(t.bundle, t.binary, t.pid, true, log).then((exit) => {
      if (this.tasks.get(keyOf(t.namespace, t.id)) === t) this.tasks.delete(keyOf(t.namespace, t.id));
      t.markDead(exit);
    });
  }

  /**
   * Cleans up after a shim that is gone (cleanupAfterDeadShim): its delete
   * action kills and removes the container and unmounts the rootfs; the
   * bundle goes; TaskExit and TaskDelete are published (when `publish`), and
   * every waiter of the task gets the exit.
   */
  private async reap(bundle: Bundle, bcfg: ShimBinaryConfig, pid: number, publish: boolean, log: Logger): Promise<Exit> {
    log.warn('cleaning up after shim disconnected');
    let exit: Exit;
    try {
      const r = await deleteShim(bcfg, bundle);
      if (r.warnings) log.warn('cleanup warnings', { warnings: r.warnings });
      exit = { pid: r.pid || pid, status: r.status, exitedAt: r.exitedAt };
    } catch (err) {
      log.warn('failed to clean up after shim disconnected', { err: (err as Error).message });
      exit = { pid, status: 255, exitedAt: now() };
    }
    await deleteBundle(bundle).catch((err) => log.error('failed to delete bundle', { path: bundle.path, err: (err as Error).message }));
    if (publish) {
      const ns = bundle.namespace;
      this.cfg.events.publishTyped(ns, '/tasks/exit', 'containerd.events.TaskExit', {
        containerId: bundle.id, id: bundle.id, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.exitedAt,
      });
      this.cfg.events.publishTyped(ns, '/tasks/delete', 'containerd.events.TaskDelete', {
        containerId: bundle.id, pid: exit.pid, exitStatus: exit.status, exitedAt: exit.exitedAt,
      });
    }
    this.waiters.exitAll(bundle.namespace, bundle.id, exit);
    return exit;
  }

  /** Reconnects to the shims of the bundles left by a previous berthd (loadExistingTasks). */
  async load(): Promise<void> {
    await Promise.all(listBundles(this.cfg.state).map((b) => this.loadOne(b)));
    this.cleanupWorkDirs();
  }

  private async loadOne(bundle: Bundle): Promise<void> {
    const log = this.cfg.log.child({ namespace: bundle.namespace, id: bundle.id });
    const drop = (why: string, err?: unknown) => {
      log.warn('dropping bundle', { reason: why, err: (err as Error)?.message });
      return deleteBundle(bundle).catch((e) => log.error('failed to delete bundle', { path: bundle.path, err: (e as Error).message }));
    };
    if (readdir(bundle.path).length === 0) return void (await drop('empty bundle'));
    let runtime = '';
    try {
      runtime = fs.readFileSync(path.join(bundle.path, SHIM_BINARY_FILE), 'utf8').trim();
    } catch {
      runtime = this.cfg.containerRuntime(bundle.namespace, bundle.id) ?? '';
    }
    if (!runtime) return void (await drop('no shim binary recorded and no container'));
    let bcfg: ShimBinaryConfig;
    try {
      bcfg = this.binaryConfig(this.paths.resolve(runtime));
    } catch (err) {
      return void (await drop('failed to resolve runtime path', err));
    }
    let address: string;
    try {
      address = fs.readFileSync(path.join(bundle.path, ADDRESS_FILE), 'utf8').trim();
    } catch (err) {
      // the shim never started (berthd died in Create): clean up what may have been made
      await this.reap(bundle, bcfg, 0, false, log);
      return;
    }
    let client: TtrpcClient | undefined;
    let shimLog: ShimLog | undefined;
    try {
      client = await TtrpcClient.connect(address, LOAD_TIMEOUT_MS);
      shimLog = await ShimLog.open(bundle, log.child({ component: 'shim' }));
      const t = new ShimTask(bundle, client, bcfg, shimLog);
      await t.connect(LOAD_TIMEOUT_MS);
      this.tasks.set(keyOf(bundle.namespace, bundle.id), t);
      client.on('close', () => this.onShimClose(t));
      if (client.closed) this.onShimClose(t);
      log.info('task reloaded', { pid: t.pid, address });
    } catch (err) {
      log.warn('failed to load shim', { address, err: (err as Error).message });
      client?.close();
      shimLog?.close();
      await this.reap(bundle, bcfg, 0, true, log);
    }
  }

  /** Work dirs whose task is gone (cleanupWorkDirs). */
  private cleanupWorkDirs(): void {
    for (const ns of readdir(this.cfg.root)) {
      for (const id of readdir(path.join(this.cfg.root, ns))) {
        if (!this.tasks.has(keyOf(ns, id)) && !this.creating.has(keyOf(ns, id))) {
          fs.rmSync(path.join(this.cfg.root, ns, id), { recursive: true, force: true });
        }
      }
    }
  }

  /** Disconnects from every shim (they and their containers keep running). */
  close(): void {
    this.closing = true;
    this.unsubscribe();
    for (const t of this.tasks.values()) t.close();
    this.tasks.clear();
  }
}
