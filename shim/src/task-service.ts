/**
 * The ttrpc adapter of the task service: registers containerd.task.v2.Task
 * on a TtrpcServer and logs failed calls. Decoding, encoding and the
 * error → status mapping are the server's (addService).
 */
import type * as protobuf from 'protobufjs';
import type { Logger } from './logging';
import type { TaskService } from './task/service';
import type { Handler, TtrpcServer } from './ttrpc/server';

export const TASK_SERVICE = 'containerd.task.v2.Task';

export function registerTaskService(server: TtrpcServer, root: protobuf.Root, service: TaskService, log: Logger): void {
  const def = root.lookupService(TASK_SERVICE);
  const impl: Record<string, Handler> = {};
  for (const m of def.methodsArray) {
    const fn = (service as unknown as Record<string, Handler | undefined>)[m.name];
    if (typeof fn !== 'function') continue;
    impl[m.name] = async (req, ctx) => {
      log.debug('request', { component: 'shim.ttrpc', method: m.name, id: req.id, exec: req.execId || undefined });
      return fn.call(service, req, ctx);
    };
  }
  server.addService(def, impl);
}
