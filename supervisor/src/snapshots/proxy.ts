/**
 * A Snapshotter over the Snapshots gRPC service (containerd snapshots/proxy):
 * what berthctl and the tests use to drive berthd's snapshotters over the wire.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromGrpc } from '../../../proto/src/errdefs';
import { protoDir } from '../../../proto/src/loader';
import type { Mount } from '../mount/types';
import { infoFromProto, infoToProto, PROTO_LOADER_OPTIONS, SNAPSHOTS_PROTO, type PbInfo } from './service';
import type { Info, SnapshotOpts, Snapshotter, Usage, WalkFunc } from './snapshotter';

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

export class SnapshotterProxy implements Snapshotter {
  private readonly client: Client;
  private closed = false;

  /** address: a grpc-js target ("unix:///run/berth/berthd.sock"); name: the snapshotter. */
  constructor(address: string, private readonly name: string, private readonly metadata = new grpc.Metadata()) {
    const pkg = protoLoader.loadSync(SNAPSHOTS_PROTO, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoDir()] });
    const loaded = grpc.loadPackageDefinition(pkg) as unknown as {
      containerd: { services: { snapshots: { v1: { Snapshots: grpc.ServiceClientConstructor } } } };
    };
    this.client = new loaded.containerd.services.snapshots.v1.Snapshots(address, grpc.credentials.createInsecure()) as unknown as Client;
  }

  private call<T>(method: string, req: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method]({ snapshotter: this.name, ...req }, this.metadata, (err: grpc.ServiceError | null, res: T) =>
        err ? reject(fromGrpc(err.code, err.details, err)) : resolve(res),
      );
    });
  }

  async stat(key: string): Promise<Info> {
    return infoFromProto((await this.call<{ info: PbInfo }>('Stat', { key })).info);
  }
  async update(info: Info, ...fieldpaths: string[]): Promise<Info> {
    const res = await this.call<{ info: PbInfo }>('Update', { info: infoToProto(info), updateMask: { paths: fieldpaths } });
    return infoFromProto(res.info);
  }
  async usage(key: string): Promise<Usage> {
    const u = await this.call<Usage>('Usage', { key });
    return { size: Number(u.size), inodes: Number(u.inodes) };
  }
  async mounts(key: string): Promise<Mount[]> {
    return (await this.call<{ mounts: Mount[] }>('Mounts', { key })).mounts;
  }
  async prepare(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return (await this.call<{ mounts: Mount[] }>('Prepare', { key, parent, labels: opts?.labels ?? {} })).mounts;
  }
  async view(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return (await this.call<{ mounts: Mount[] }>('View', { key, parent, labels: opts?.labels ?? {} })).mounts;
  }
  async commit(name: string, key: string, opts?: SnapshotOpts): Promise<void> {
    await this.call('Commit', { name, key, labels: opts?.labels ?? {} });
  }
  async remove(key: string): Promise<void> {
    await this.call('Remove', { key });
  }
  async cleanup(): Promise<void> {
    await this.call('Cleanup', {});
  }
  async walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    const infos: Info[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = this.client.List({ snapshotter: this.name, filters }, this.metadata) as grpc.ClientReadableStream<{ info: PbInfo[] }>;
      stream.on('data', (msg: { info: PbInfo[] }) => infos.push(...msg.info.map(infoFromProto)));
      stream.on('error', (err: grpc.ServiceError) => reject(fromGrpc(err.code, err.details, err)));
      stream.on('end', () => resolve());
    });
    for (const i of infos) await fn(i);
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
