/**
 * Hibernation: an idle shim server hands everything it holds to the native
 * reaper and exits, so that an idle container costs the reaper's few hundred
 * KB instead of a Node process; the reaper runs the server again the moment
 * it is needed (runtime/native/shim.c, "stash" and "hibernate").
 *
 * After BERTH_SHIM_IDLE_EXIT ms (default 30 s; 0: never) with no request, no
 * exit and nothing else under way, the server:
 *   1. stops reading its ttrpc connections and stdio sources, and gives up if
 *      any holds a request in flight, part of a frame, or bytes read but not
 *      yet written (a FIFO nobody reads keeps the shim awake);
 *   2. hands a copy of each connection and stdio fd to the reaper (`stash`;
 *      connections and sources watched; a kernel without pidfd_getfd fails
 *      here, before anything is written);
 *   3. records its containers and processes in <shim dir>/hibernated.json
 *      (written atomically), then says `hibernate`;
 *   4. looks once more, in the tick that exits, that nothing moved (an exit
 *      reaped meanwhile, a request read), else takes it all back (`unstash`)
 *      and stays.
 * The reaper keeps the fds and the listener, queues the exits it reaps, and
 * starts the server again on a connection, readable stdio, a hang-up, an
 * exit or a signal, with the fds placed and named in BERTH_SHIM_RESUME; the
 * new server restores the recorded state and carries on (resume()).
 *
 * containerd never sees it: its connection stays open (held by the reaper)
 * and its next request waits for a Node start (bench/shim: `ctr tasks ls`
 * 78 ms to a hibernated shim against 14 ms to an awake one).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../runtime/src/atomic-file';
import type { Publisher } from './events/publisher';
import type { ExitMonitor } from './exits';
import { fdOf } from './io/pipe-io';
import type { Logger } from './logging';
import { HIBERNATED_FILE } from './layout';
import type { ControlChannel } from './native/channel';
import type { ContainerState, TaskService } from './task/service';
import type { TtrpcServer } from './ttrpc/server';

export const DEFAULT_IDLE_EXIT_MS = 30_000;

interface HibernatedState {
  version: 1;
  containers: ContainerState[];
}

/** BERTH_SHIM_IDLE_EXIT: ms of idleness before the server hibernates; 0 never. */
export function idleExitMs(value = process.env.BERTH_SHIM_IDLE_EXIT): number {
  if (value === undefined || value === '') return DEFAULT_IDLE_EXIT_MS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`BERTH_SHIM_IDLE_EXIT=${JSON.stringify(value)}: want milliseconds (0: never hibernate)`);
  return n;
}

/** BERTH_SHIM_RESUME ("NAME=FD ..."): the fds the reaper handed this server; undefined on a first start. */
export function resumedFds(value = process.env.BERTH_SHIM_RESUME): Map<string, number> | undefined {
  if (value === undefined) return undefined;
  const out = new Map<string, number>();
  for (const item of value.split(' ').filter(Boolean)) {
    const i = item.lastIndexOf('=');
    const fd = Number(item.slice(i + 1));
    if (i <= 0 || !Number.isInteger(fd) || fd < 3) throw new Error(`BERTH_SHIM_RESUME: bad entry ${JSON.stringify(item)}`);
    out.set(item.slice(0, i), fd);
  }
  return out;
}

export interface HibernatorConfig {
  delayMs: number;
  /** The shim's directory (hibernated.json). */
  dir: string;
  native: ControlChannel;
  server: TtrpcServer;
  service: TaskService;
  publisher: Publisher;
  exits: ExitMonitor;
  log: Logger;
}

export class Hibernator {
  private timer: NodeJS.Timeout | undefined;
  private trying = false;
  private stopped = false;

  constructor(private readonly cfg: HibernatorConfig) {}

  /**
   * The server is shutting down: never hibernate from now on. (A shutdown
   * that waits for its events to be delivered can outlast the idle time; a
   * hibernation then would make the reaper sleep on instead of exiting.)
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Something happened: idleness starts again now. */
  poke(): void {
    if (!this.cfg.delayMs || this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.attempt();
    }, this.cfg.delayMs);
  }

  private async attempt(): Promise<void> {
    if (this.trying) return;
    this.trying = true;
    let slept = false;
    try {
      slept = await this.tryOnce();
    } catch (err) {
      this.cfg.log.warn('failed to hibernate', { component: 'shim.hibernate', err: String(err) });
    } finally {
      this.trying = false;
    }
    if (!slept) this.poke();
  }

  /** One attempt; false: the server stays (for now). Exits the process on success. */
  private async tryOnce(): Promise<boolean> {
    const { server, service, publisher, exits, native, log } = this.cfg;
    if (this.stopped || publisher.pending > 0 || exits.busy) return false;
    const socks = server.pause();
    if (!socks) return false;
    const svc = service.hibernate();
    if (!svc) {
      server.resume();
      return false;
    }
    const file = path.join(this.cfg.dir, HIBERNATED_FILE);
    const stay = async (): Promise<false> => {
      server.resume();
      svc.wake();
      fs.rmSync(file, { force: true });
      await native.unstash(); // nothing stashed yet is fine too
      return false;
    };
    const conns = socks.map((s, i) => ({ name: `conn${i}`, fd: fdOf(s), watch: true })).filter((c) => c.fd >= 0);
    try {
      for (const h of [...conns, ...svc.fds]) await native.stash(h.name, h.fd, h.watch);
      const state: HibernatedState = { version: 1, containers: svc.containers };
      writeFileAtomic(file, JSON.stringify(state), 0o600);
      await native.hibernate();
    } catch (err) {
      log.warn('failed to hibernate', { component: 'shim.hibernate', err: String(err) });
      return stay();
    }
    // The last look, in the tick that exits.
    const moved = { connections: !server.quiet(socks), tasks: !svc.quiet(), events: publisher.pending > 0, exits: exits.busy, stopping: this.stopped };
    if (Object.values(moved).some(Boolean)) {
      log.debug('activity while hibernating; staying', { component: 'shim.hibernate', ...moved });
      return stay();
    }
    log.debug('hibernating', { component: 'shim.hibernate', containers: svc.containers.length, fds: conns.length + svc.fds.length });
    process.exit(0);
  }
}

/**
 * A server the reaper woke: restores what the hibernated one recorded and
 * serves the connections it handed over. The state file goes once read.
 */
export function resume(dir: string, fds: Map<string, number>, server: TtrpcServer, service: TaskService, log: Logger): void {
  const file = path.join(dir, HIBERNATED_FILE);
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as HibernatedState;
  if (state.version !== 1) throw new Error(`${file}: unknown version ${String(state.version)}`);
  service.restore(state.containers, (name) => fds.get(name));
  let conns = 0;
  for (const [name, fd] of fds) {
    if (!/^conn\d+$/.test(name)) continue;
    server.adopt(fd);
    conns++;
  }
  fs.rmSync(file, { force: true });
  log.debug('resumed', { component: 'shim.hibernate', containers: state.containers.length, connections: conns });
}
