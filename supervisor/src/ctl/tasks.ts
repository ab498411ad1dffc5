/** berthctl tasks: ls start kill rm exec ps pause resume metrics (ctr tasks). */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import type { CommandModule } from 'yargs';
import { InvalidArgumentError, isNotFound } from '../../../proto/src/errdefs';
import { loadRoot } from '../../../proto/src/loader';
import type { Client } from '../client/client';
import { parseSignal } from '../../../runtime/src/process/signals';
import { withClient, type GlobalArgs } from './context';
import { output, printJson, printTable } from './output';
import { snapshotMounts } from './run-rootfs';
import { commandArgs, startTask } from './run';
import { PROCESS_TYPE_URL, mergeEnv, withUser, type Spec } from './run-spec';
import { runAttached } from './task-attach';

type A<T> = GlobalArgs & T;

/** containerd.v1.types.Status names (the proto enum, as the wire gives them). */
const statusText = (s: string | number) =>
  typeof s === 'number' ? ['UNKNOWN', 'CREATED', 'RUNNING', 'STOPPED', 'PAUSED', 'PAUSING'][s] ?? 'UNKNOWN' : String(s);

const ls: CommandModule<GlobalArgs, A<{ quiet: boolean }>> = {
  command: ['ls', 'list'],
  describe: 'list tasks',
  builder: (y) => y.option('quiet', { alias: 'q', type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { tasks } = await c.call('tasks', 'List', {});
      if (a.quiet) return void process.stdout.write(tasks.map((t: { id: string }) => `${t.id}\n`).join(''));
      output(a.format, ['TASK', 'PID', 'STATUS'], tasks.map((t: { id: string; pid: number; status: string }) => [t.id, String(t.pid), statusText(t.status)]), tasks);
    }),
};

const start: CommandModule<GlobalArgs, A<{ id: string; detach: boolean }>> = {
  command: 'start <id>',
  describe: 'start the task of a container (attached unless -d)',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }).option('detach', { alias: 'd', type: 'boolean', default: false }) as never,
  handler: async (a) => {
    const status = await withClient(a, async (c) => {
      const { container } = await c.call('containers', 'Get', { id: a.id });
      const spec = JSON.parse(Buffer.from(container.spec.value).toString('utf8')) as Spec;
      try {
        // a task created earlier (and not started): start it
        const { process: p } = await c.call('tasks', 'Get', { containerId: a.id });
        if (statusText(p.status) !== 'CREATED') throw new InvalidArgumentError(`task ${a.id} is ${statusText(p.status).toLowerCase()}, not created`);
        await c.call('tasks', 'Start', { containerId: a.id });
        return 0;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      const rootfs = container.snapshotKey ? await snapshotMounts(c, container.snapshotter, container.snapshotKey) : [];
      return startTask(c, a.id, { rootfs, terminal: Boolean(spec.process?.terminal), detach: a.detach });
    });
    if (status !== 0) process.exit(status);
  },
};

const kill: CommandModule<GlobalArgs, A<{ id: string; signal: string; all: boolean; 'exec-id': string }>> = {
  command: 'kill <id>',
  describe: 'signal a task (or one of its execs)',
  builder: (y) =>
    y
      .positional('id', { type: 'string', demandOption: true })
      .option('signal', { alias: 's', type: 'string', default: 'SIGTERM' })
      .option('all', { type: 'boolean', default: false, describe: 'every process of the task' })
      .option('exec-id', { type: 'string', default: '' }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      await c.call('tasks', 'Kill', { containerId: a.id, execId: a['exec-id'], signal: parseSignal(a.signal), all: a.all });
    }),
};

const rm: CommandModule<GlobalArgs, A<{ ids: string[]; force: boolean }>> = {
  command: ['rm <ids..>', 'delete', 'remove'],
  describe: 'delete stopped tasks (-f kills running ones first)',
  builder: (y) => y.positional('ids', { type: 'string', array: true, demandOption: true }).option('force', { alias: 'f', type: 'boolean', default: false }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      for (const id of a.ids) {
        if (a.force) {
          const { process: p } = await c.call('tasks', 'Get', { containerId: id });
          if (statusText(p.status) !== 'STOPPED') {
            const waiting = c.call('tasks', 'Wait', { containerId: id });
            await c.call('tasks', 'Kill', { containerId: id, signal: os.constants.signals.SIGKILL, all: true });
            await waiting;
          }
        }
        const r = await c.call('tasks', 'Delete', { containerId: id });
        if (r.exitStatus !== 0) process.stderr.write(`task ${id} exited with non-zero exit code ${r.exitStatus}\n`);
        process.stdout.write(`${id}\n`);
      }
    }),
};

interface ExecArgs extends GlobalArgs {
  id: string;
  args: string[];
  'exec-id'?: string;
  tty: boolean;
  detach: boolean;
  cwd?: string;
  user?: string;
  env?: string[];
}

const exec: CommandModule<GlobalArgs, ExecArgs> = {
  command: 'exec <id> [args..]',
  describe: 'run another process in a task',
  builder: (y) =>
    y
      .epilog('A command with options of its own goes after --: berthctl tasks exec ID -- sh -c \'exit 3\'')
      .positional('id', { type: 'string', demandOption: true })
      .positional('args', { type: 'string', array: true })
      .option('exec-id', { type: 'string', describe: 'exec process id (generated when not given)' })
      .option('tty', { alias: 't', type: 'boolean', default: false })
      .option('detach', { alias: 'd', type: 'boolean', default: false })
      .option('cwd', { type: 'string' })
      .option('user', { alias: 'u', type: 'string' })
      .option('env', { alias: 'e', type: 'string', array: true }) as never,
  handler: async (a) => {
    const status = await withClient(a, async (c) => {
      const { container } = await c.call('containers', 'Get', { id: a.id });
      const spec = JSON.parse(Buffer.from(container.spec.value).toString('utf8')) as Spec;
      spec.process.args = commandArgs(a.args);
      if (spec.process.args.length === 0) throw new InvalidArgumentError('a command is required');
      spec.process.terminal = a.tty;
      if (a.cwd) spec.process.cwd = a.cwd;
      if (a.env) spec.process.env = mergeEnv(spec.process.env ?? [], a.env);
      if (a.user) withUser(spec, a.user, spec.root?.path?.startsWith('/') ? spec.root.path : undefined);
      const execId = a['exec-id'] || `exec-${crypto.randomBytes(6).toString('hex')}`;
      const specAny = { type_url: PROCESS_TYPE_URL, value: Buffer.from(JSON.stringify(spec.process)) };
      if (a.detach) {
        await c.call('tasks', 'Exec', { containerId: a.id, execId, terminal: a.tty, spec: specAny });
        await c.call('tasks', 'Start', { containerId: a.id, execId });
        return 0;
      }
      try {
        return await runAttached(c, {
          containerId: a.id,
          execId,
          terminal: a.tty,
          create: async (io) => {
            await c.call('tasks', 'Exec', { containerId: a.id, execId, spec: specAny, ...io });
          },
        });
      } finally {
        await c.call('tasks', 'DeleteProcess', { containerId: a.id, execId }).catch(() => undefined);
      }
    });
    if (status !== 0) process.exit(status);
  },
};

const ps: CommandModule<GlobalArgs, A<{ id: string }>> = {
  command: 'ps <id>',
  describe: 'list the processes of a task',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const { processes } = await c.call('tasks', 'ListPids', { containerId: a.id });
      const details = root().lookupType('containerd.runc.v1.ProcessDetails');
      const rows = (processes as { pid: number; info: { type_url: string; value: Buffer } | null }[]).map((p) => {
        let info = '-';
        if (p.info?.type_url?.endsWith('containerd.runc.v1.ProcessDetails')) {
          info = String((details.toObject(details.decode(p.info.value)) as { execId?: string }).execId ?? '-');
        }
        return [String(p.pid), info];
      });
      output(a.format, ['PID', 'INFO'], rows, processes.map((p: { pid: number }, i: number) => ({ pid: p.pid, execId: rows[i][1] === '-' ? undefined : rows[i][1] })));
    }),
};

const simple = (verb: 'pause' | 'resume', method: string): CommandModule<GlobalArgs, A<{ id: string }>> => ({
  command: `${verb} <id>`,
  describe: `${verb} a task`,
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: (a) => withClient(a, (c) => c.call('tasks', method, { containerId: a.id })),
});

let metricsRoot: ReturnType<typeof loadRoot> | undefined;
function root(): ReturnType<typeof loadRoot> {
  metricsRoot ??= loadRoot(['types/cgroups/v1/metrics.proto', 'types/cgroups/v2/metrics.proto', 'runtime/v2/runc/options/oci.proto']);
  return metricsRoot;
}

/** The rows ctr prints for cgroup v1 and v2 metrics. */
export function metricRows(typeUrl: string, m: Record<string, any>): string[][] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const rows: string[][] = [];
  const add = (k: string, v: unknown) => rows.push([k, Array.isArray(v) ? `[${v.join(' ')}]` : String(v ?? 0)]);
  if (typeUrl.endsWith('io.containerd.cgroups.v1.Metrics')) {
    if (m.memory) {
      add('memory.usage_in_bytes', m.memory.usage?.usage);
      add('memory.limit_in_bytes', m.memory.usage?.limit);
      add('memory.stat.cache', m.memory.totalCache);
    }
    if (m.cpu) {
      add('cpuacct.usage', m.cpu.usage?.total);
      add('cpuacct.usage_percpu', m.cpu.usage?.perCpu ?? []);
    }
    if (m.pids) {
      add('pids.current', m.pids.current);
      add('pids.limit', m.pids.limit);
    }
  } else {
    if (m.pids) {
      add('pids.current', m.pids.current);
      add('pids.limit', m.pids.limit);
    }
    if (m.cpu) for (const k of ['usageUsec', 'userUsec', 'systemUsec', 'nrPeriods', 'nrThrottled', 'throttledUsec']) add(`cpu.${k.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)}`, m.cpu[k]);
    if (m.memory) for (const k of ['usage', 'usageLimit', 'swapUsage', 'swapLimit']) add(`memory.${k.replace(/[A-Z]/g, (x) => `_${x.toLowerCase()}`)}`, m.memory[k]);
  }
  return rows;
}

async function taskMetrics(c: Client, ids: string[]): Promise<{ id: string; typeUrl: string; data: Record<string, unknown> }[]> {
  const filters = ids.map((id) => `id==${JSON.stringify(id)}`);
  const { metrics } = await c.call('tasks', 'Metrics', { filters });
  return (metrics as { id: string; data: { type_url: string; value: Buffer } | null }[]).map((m) => {
    const typeUrl = m.data?.type_url ?? '';
    let data: Record<string, unknown> = {};
    if (m.data) {
      const t = root().lookupType(typeUrl.replace(/^.*\//, ''));
      data = t.toObject(t.decode(m.data.value), { longs: String }) as Record<string, unknown>;
    }
    return { id: m.id, typeUrl, data };
  });
}

const metrics: CommandModule<GlobalArgs, A<{ ids: string[] }>> = {
  command: ['metrics <ids..>', 'metric'],
  describe: 'cgroup metrics of tasks',
  builder: (y) => y.positional('ids', { type: 'string', array: true, demandOption: true }) as never,
  handler: (a) =>
    withClient(a, async (c) => {
      const ms = await taskMetrics(c, a.ids);
      if (a.format === 'json') return printJson(ms);
      for (const m of ms) {
        process.stdout.write(`${m.id}\n`);
        printTable(['METRIC', 'VALUE'], metricRows(m.typeUrl, m.data));
      }
    }),
};

export const tasksCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: ['tasks', 'task', 't'],
  describe: 'manage tasks (the running processes of containers)',
  builder: (y) =>
    y
      .command(ls)
      .command(start)
      .command(kill)
      .command(rm)
      .command(exec)
      .command(ps)
      .command(simple('pause', 'Pause'))
      .command(simple('resume', 'Resume'))
      .command(metrics)
      .demandCommand(1, ''),
  handler: () => undefined,
};
