/**
 * The long-lived shim (containerd runtime/v2/shim/shim.go run + serve): the
 * ttrpc task server on the listener inherited as fd 3, the control channel
 * to the native reaper on fd 4. It keeps serving when containerd goes away
 * and exits only on Shutdown with no container left (or SIGTERM/SIGINT).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Publisher } from './events/publisher';
import { ExitMonitor } from './exits';
import type { Flags } from './flags';
import { configure, log as rootLog, type Logger } from './logging';
import { ControlChannel } from './native/channel';
import { CTL_FD, LISTEN_FD } from './native/paths';
import { EVENTS_DIR, IO_DIR, MEMBERS_DIR, SOCKET } from './layout';
import { registerTaskService } from './task-service';
import { TaskService } from './task/service';
import { TtrpcServer } from './ttrpc/server';
import { shimRoot } from './protos';
import { Hibernator, idleExitMs, resume, resumedFds } from './hibernate';
import { trace } from '../../runtime/src/logging';

export async function serve(flags: Flags): Promise<void> {
  trace('timing', 'serve: begin');
  // BERTH_SHIM_LOG: a file to log to instead of containerd's log FIFO (debugging, tests)
  const logFile = process.env.BERTH_SHIM_LOG;
  configure({
    level: flags.debug ? 'debug' : 'info',
    trace: process.env.BERTH_TRACE ?? '',
    fd: logFile ? fs.openSync(logFile, 'a', 0o600) : 2,
  });
  const log = rootLog.child({ runtime: 'io.containerd.berth.v2', namespace: flags.namespace, pid: process.pid });
  const dir = process.env.BERTH_SHIM_STATE;
  if (!dir) throw new Error('BERTH_SHIM_STATE is not set: the server is started by `start`');
  const workDir = path.join(dir, IO_DIR);
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });

  const root = shimRoot();
  const native = ControlChannel.fromFd(CTL_FD, process.ppid);
  const exits = new ExitMonitor((e) => log.debug('reaped a process no task owns', { component: 'shim.exits', pid: e.pid, status: e.status }));
  native.on('exit', (e) => exits.exit(e));

  const publisher = new Publisher({
    namespace: flags.namespace,
    ttrpcAddress: process.env.TTRPC_ADDRESS ?? '',
    publishBinary: flags.publishBinary,
    address: flags.address,
    queueDir: path.join(dir, EVENTS_DIR),
    root,
    log: log.child({ component: 'shim.events' }),
  });

  const idleGc = idleCollector(1500, log);
  let hibernator: Hibernator | undefined;
  const activity = (): void => {
    idleGc();
    hibernator?.poke();
  };
  const server = new TtrpcServer({
    onError: (err, ctx) => log.debug('request failed', { component: 'shim.ttrpc', method: ctx.method, err }),
    onSettled: activity,
  });
  native.on('exit', activity);
  native.on('oom', activity);
  let stopping = false;
  const shutdown = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    hibernator?.stop();
    log.info('shim shutting down', { reason: why });
    server.close();
    await publisher.flush(5000);
    publisher.close();
    fs.rmSync(path.join(dir, SOCKET), { force: true });
    if (publisher.pending === 0) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  const service = new TaskService({
    namespace: flags.namespace,
    native,
    exits,
    publisher,
    workDir,
    root,
    log,
    shimPid: process.ppid,
    onLeave: (id) => fs.rmSync(path.join(dir, MEMBERS_DIR, id), { force: true }),
    shutdown: () => void shutdown('shutdown requested'),
  });
  registerTaskService(server, root, service, log);
  native.on('oom', (id) => service.oom(id));
  // Set (maybe empty) when the reaper woke this server from hibernation; with
  // the SIGTERM/SIGINT that woke it, if that is what did.
  const handedOver = resumedFds();
  const signalled = Number(process.env.BERTH_SHIM_SIGNAL ?? 0);
  delete process.env.BERTH_SHIM_RESUME;
  delete process.env.BERTH_SHIM_SIGNAL;
  hibernator = new Hibernator({ delayMs: idleExitMs(), dir, native, server, service, publisher, exits, log });

  native.on('close', () => {
    log.error('lost the native reaper; exiting');
    process.exit(1);
  });
  // A bug must not take the containers down with the shim: log it and carry on.
  process.on('uncaughtException', (err) => log.error('uncaught exception', { err, stack: err.stack }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const listener = net.createServer();
  listener.on('error', (err) => log.error('ttrpc listener failed', { err }));
  listener.listen({ fd: LISTEN_FD });
  server.serve(listener);
  trace('timing', 'serve: listening');
  // Before the first event: the exits the reaper queued meanwhile must find their processes.
  if (handedOver) {
    resume(dir, handedOver, server, service, log);
  } else {
    log.info('shim serving', { address: fs.existsSync('address') ? fs.readFileSync('address', 'utf8') : undefined, startup_ms: Math.round(process.uptime() * 1000) });
  }
  if (signalled) void shutdown(signalled === os.constants.signals.SIGINT ? 'SIGINT' : 'SIGTERM');
  activity();
}

/**
 * A shim is idle almost all the time, so once activity stops for a moment
 * the heap is collected and compacted (when started with --expose-gc, as
 * start.ts does), giving its pages back: the analogue of containerd's shim
 * calling debug.FreeOSMemory().
 */
function idleCollector(delayMs = 1500, log?: Logger): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (!gc) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      gc();
      const m = process.memoryUsage();
      log?.debug('idle', { component: 'shim.memory', rss: m.rss, heap_total: m.heapTotal, heap_used: m.heapUsed, external: m.external });
    }, delayMs);
    timer.unref();
  };
}
