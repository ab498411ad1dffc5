/**
 * containerd.services.content.v1.Content over ContentLocal; Write follows
 * containerd's contentserver: the first message names the ref, STAT reports,
 * WRITE appends at the current offset (offset 0 on a partial ingest starts
 * over), COMMIT verifies and makes the blob visible.
 */
import type * as grpc from '@grpc/grpc-js';
import { AlreadyExistsError, GrpcCode, InvalidArgumentError, type BerthError } from '../../../../proto/src/errdefs';
import { serviceFiles } from '../../../../proto/src/grpc';
import { PluginType, register } from '../../daemon/plugins';
import type { Exchange } from '../../events/exchange';
import type { Metadata } from '../../metadata/plugin';
import type { ContentInfo, ContentStatus, NamespacedWriter } from '../../metadata/content';
import { maskPaths, requireNamespace, serverStream, toStatus, dateToTimestamp, unary, type Timestamp } from '../grpc-util';
import { grpcService, leaseOf } from '../register';
import { ContentLocal } from './local';

register({
  type: PluginType.Service,
  id: 'content-service',
  requires: [PluginType.Metadata, PluginType.Event],
  init: (ic) => new ContentLocal(ic.get<Metadata>(PluginType.Metadata), ic.get<Exchange>(PluginType.Event)),
});

const infoToPb = (i: ContentInfo) => ({ digest: i.digest, size: i.size, createdAt: i.createdAt, updatedAt: i.updatedAt, labels: i.labels });
const dateTs = (d: Date): Timestamp => dateToTimestamp(d);
const statusToPb = (s: ContentStatus) => ({
  startedAt: dateTs(s.startedAt),
  updatedAt: dateTs(s.updatedAt),
  ref: s.ref,
  offset: s.offset,
  total: s.total,
  expected: s.expected,
});

interface WriteReq {
  action: 'STAT' | 'WRITE' | 'COMMIT';
  ref: string;
  total: number;
  expected: string;
  offset: number;
  data: Buffer;
  labels: Record<string, string>;
}

async function write(l: ContentLocal, call: grpc.ServerDuplexStream<WriteReq, unknown>): Promise<void> {
  const ns = requireNamespace(call.metadata);
  const it = call[Symbol.asyncIterator]() as AsyncIterator<WriteReq>;
  let next = await it.next();
  if (next.done) return;
  let req = next.value;
  if (!req.ref) throw new InvalidArgumentError('first message must have a reference');
  let total = req.total;
  let expected = req.expected;
  const w: NamespacedWriter = await l.store.writer(ns, req.ref, total, expected, leaseOf(call.metadata));
  try {
    for (;;) {
      const msg: Record<string, unknown> = { action: req.action, offset: w.offset };
      if (req.expected) {
        expected = req.expected;
        let exists = false;
        try {
          l.store.info(ns, req.expected);
          exists = true;
        } catch {
          /* not there yet */
        }
        if (exists) {
          w.close();
          try {
            l.store.abort(ns, req.ref);
          } catch {
            /* already gone */
          }
          throw new AlreadyExistsError(`blob with expected digest ${req.expected} exists`);
        }
      }
      if (req.total > 0) total = req.total;
      if (req.action === 'STAT') {
        const st = w.status();
        Object.assign(msg, { digest: w.digest(), startedAt: dateTs(st.startedAt), updatedAt: dateTs(st.updatedAt), total });
      } else {
        if (req.offset > 0 && req.offset !== w.offset) {
          // containerd answers OUT_OF_RANGE, a code with no errdefs kind.
          throw Object.assign(new Error(`write @${req.offset} must occur at current offset ${w.offset}`), { grpcCode: GrpcCode.OUT_OF_RANGE });
        }
        if (req.offset === 0 && w.offset > 0) {
          w.truncate(0);
          msg.offset = 0;
        }
        if (req.data && req.data.length > 0) {
          w.write(req.data);
          msg.offset = w.offset;
        }
        if (req.action === 'COMMIT') {
          w.commit(total, expected, req.labels ?? {});
        }
        msg.digest = w.digest();
      }
      await new Promise<void>((resolve, reject) => call.write(msg, (err?: Error | null) => (err ? reject(err) : resolve())));
      if (req.action === 'COMMIT') return;
      next = await it.next();
      if (next.done) return;
      req = next.value;
    }
  } finally {
    w.close();
  }
}

register({
  type: PluginType.GRPC,
  id: 'content',
  requires: [PluginType.Service],
  init: (ic) => {
    const l = ic.getByID<ContentLocal>(PluginType.Service, 'content-service');
    const log = ic.log;
    return grpcService(serviceFiles.content, 'containerd.services.content.v1.Content', {
      Info: unary(log, (req: { digest: string }, ctx) => ({ info: infoToPb(l.store.info(ctx.namespace(), req.digest)) })),
      Update: unary(log, (req: { info: ContentInfo | null; updateMask: { paths: string[] } | null }, ctx) => {
        if (!req.info) throw new InvalidArgumentError('info must be set');
        return { info: infoToPb(l.store.update(ctx.namespace(), req.info, maskPaths(req.updateMask))) };
      }),
      List: serverStream(log, async (req: { filters: string[] }, send, ctx) => {
        const all = l.store.list(ctx.namespace(), req.filters);
        for (let i = 0; i < all.length; i += 100) await send({ info: all.slice(i, i + 100).map(infoToPb) });
      }),
      Delete: unary(log, (req: { digest: string }, ctx) => l.delete(ctx.namespace(), req.digest)),
      Read: serverStream(log, async (req: { digest: string; offset: number; size: number }, send, ctx) => {
        let offset = req.offset;
        for await (const chunk of l.store.read(ctx.namespace(), req.digest, req.offset, req.size)) {
          await send({ offset, data: chunk });
          offset += (chunk as Buffer).length;
        }
      }),
      Status: unary(log, (req: { ref: string }, ctx) => ({ status: statusToPb(l.store.status(ctx.namespace(), req.ref)) })),
      ListStatuses: unary(log, (req: { filters: string[] }, ctx) => ({ statuses: l.store.listStatuses(ctx.namespace(), req.filters).map(statusToPb) })),
      Write: (call: grpc.ServerDuplexStream<WriteReq, unknown>) => {
        write(l, call).then(
          () => call.end(),
          (err) => {
            const st = toStatus(err, (err as BerthError)?.kind === 'AlreadyExists' ? undefined : log);
            const raw = (err as { grpcCode?: number }).grpcCode;
            call.emit('error', raw ? { ...st, code: raw } : st);
          },
        );
      },
      Abort: unary(log, (req: { ref: string }, ctx) => l.store.abort(ctx.namespace(), req.ref)),
    });
  },
});
