/**
 * A running berthd: the root lock, the plugins in dependency order, and the
 * gRPC server on the unix socket (mode and owner from [grpc]).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GrpcServer } from '../grpc-server/server';
import type { Config } from './config';
import { lockRoot, type RootLock } from './lock';
import type { Logger } from './logging';
import { PluginSet, PluginType, registrations } from './plugins';
import type { GrpcService } from '../services/register';
import './builtins';

export interface Daemon {
  plugins: PluginSet;
  address: string;
  stop(): Promise<void>;
}

export async function startDaemon(cfg: Config, log: Logger): Promise<Daemon> {
  for (const dir of [cfg.root, cfg.state]) fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const lock: RootLock = lockRoot(cfg.root);
  let plugins: PluginSet | undefined;
  let server: GrpcServer | undefined;
  try {
    plugins = new PluginSet({
      root: cfg.root,
      state: cfg.state,
      address: cfg.grpc.address,
      config: cfg.plugins,
      disabled: cfg.disabled_plugins,
      log,
    });
    await plugins.init(registrations());
    for (const req of cfg.required_plugins) {
      const e = plugins.entries.find((x) => `${x.registration.type}.${x.registration.id}` === req);
      if (!e || e.status !== 'ok') throw new Error(`required plugin ${req} not loaded: ${e?.error?.message ?? 'not registered'}`);
    }
    server = new GrpcServer({
      maxReceiveMessageLength: cfg.grpc.max_recv_message_size,
      maxSendMessageLength: cfg.grpc.max_send_message_size,
      onConnectionError: (err) => log.debug('grpc connection error', { err: err.message }),
    });
    for (const [id, svc] of plugins.getAll<GrpcService>(PluginType.GRPC)) {
      svc.register(server);
      log.debug('registered grpc service', { id });
    }
    const address = cfg.grpc.address;
    fs.mkdirSync(path.dirname(address), { recursive: true, mode: 0o711 });
    const srv = server;
    // The socket is made owner-only under a temporary name, given its mode and
    // owner, then renamed into place: it never exists wider than asked for, and
    // a client that sees the path can connect.
    const tmp = `${address}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    const umask = process.umask(0o177);
    try {
      await srv.listen(tmp);
    } finally {
      process.umask(umask);
    }
    fs.chmodSync(tmp, cfg.grpc.mode);
    if (cfg.grpc.uid || cfg.grpc.gid) fs.chownSync(tmp, cfg.grpc.uid, cfg.grpc.gid);
    log.info('serving', { address });
    fs.renameSync(tmp, address); // replaces a stale socket: the root lock says no daemon owns it
    const ps = plugins;
    let stopped = false;
    return {
      plugins: ps,
      address,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            srv.forceShutdown();
            resolve();
          }, 2000);
          srv.tryShutdown(() => {
            clearTimeout(t);
            resolve();
          });
        });
        await ps.close();
        fs.rmSync(address, { force: true });
        lock.release();
      },
    };
  } catch (err) {
    server?.forceShutdown();
    await plugins?.close();
    lock.release();
    throw err;
  }
}
