/** containerd.services.tasks.v1.Tasks over TasksLocal. */
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Metadata } from '../../metadata/plugin';
import type { ShimManager } from '../../tasks/manager';
import type { AnyMsg } from '../../tasks/protos';
import { unary } from '../grpc-util';
import { grpcService } from '../register';
import { TasksLocal, type CreateTaskRequest } from './local';

register({
  type: PluginType.Service,
  id: 'tasks-service',
  requires: [PluginType.Runtime, PluginType.Metadata],
  init: (ic) =>
    new TasksLocal(ic.get<Metadata>(PluginType.Metadata), ic.getByID<ShimManager>(PluginType.Runtime, 'task'), ic.log.child({ component: 'tasks' })),
});

interface Proc {
  containerId: string;
  execId: string;
}

const exitMsg = (id: string, e: { pid: number; status: number; exitedAt: { seconds: number; nanos: number } }) => ({
  id, pid: e.pid, exitStatus: e.status, exitedAt: e.exitedAt,
});

register({
  type: PluginType.GRPC,
  id: 'tasks',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<TasksLocal>(PluginType.Service, 'tasks-service');
    const log = ic.log;
    return grpcService(serviceFiles.tasks, 'containerd.services.tasks.v1.Tasks', {
      Create: unary(log, (r: CreateTaskRequest, ctx) => l.create(ctx.namespace(), r)),
      Start: unary(log, async (r: Proc, ctx) => ({ pid: await l.start(ctx.namespace(), r.containerId, r.execId) })),
      Delete: unary(log, async (r: { containerId: string }, ctx) => exitMsg('', await l.delete(ctx.namespace(), r.containerId))),
      DeleteProcess: unary(log, async (r: Proc, ctx) => exitMsg(r.execId, await l.deleteProcess(ctx.namespace(), r.containerId, r.execId))),
      Get: unary(log, async (r: Proc, ctx) => ({ process: await l.get(ctx.namespace(), r.containerId, r.execId) })),
      List: unary(log, async (_r: { filter: string }, ctx) => ({ tasks: await l.list(ctx.namespace()) })),
      Kill: unary(log, async (r: Proc & { signal: number; all: boolean }, ctx) => l.kill(ctx.namespace(), r.containerId, r.execId, r.signal, r.all)),
      Exec: unary(log, async (r: Parameters<TasksLocal['exec']>[1], ctx) => l.exec(ctx.namespace(), r)),
      ResizePty: unary(log, async (r: Proc & { width: number; height: number }, ctx) =>
        l.resizePty(ctx.namespace(), r.containerId, r.execId, r.width, r.height)),
      CloseIO: unary(log, async (r: Proc & { stdin: boolean }, ctx) => l.closeIO(ctx.namespace(), r.containerId, r.execId, r.stdin)),
      Pause: unary(log, async (r: { containerId: string }, ctx) => l.pause(ctx.namespace(), r.containerId)),
      Resume: unary(log, async (r: { containerId: string }, ctx) => l.resume(ctx.namespace(), r.containerId)),
      ListPids: unary(log, async (r: { containerId: string }, ctx) => ({ processes: await l.listPids(ctx.namespace(), r.containerId) })),
      Checkpoint: unary(log, (r: { containerId: string }, ctx) => l.checkpoint(ctx.namespace(), r.containerId)),
      Update: unary(log, async (r: { containerId: string; resources: AnyMsg | null; annotations: Record<string, string> }, ctx) =>
        l.update(ctx.namespace(), r.containerId, r.resources, r.annotations ?? {})),
      Metrics: unary(log, async (r: { filters: string[] }, ctx) => ({ metrics: await l.metrics(ctx.namespace(), r.filters) })),
      Wait: unary(log, (r: Proc, ctx) => l.wait(ctx.namespace(), r.containerId, r.execId)),
    });
  },
});
