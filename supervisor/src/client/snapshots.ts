/**
 * A Snapshotter over a daemon's Snapshots service (containerd snapshots/proxy):
 * berthd or containerd, in the client's namespace and lease. berthctl's
 * unpacker and the tests drive snapshotters through it.
 */
import type { Info, Mount, SnapshotOpts, Snapshotter, Usage, WalkFunc } from '../snapshots/snapshotter';
import { infoFromProto, infoToProto, mountsFromProto, type PbInfo } from '../snapshots/wire';
import type { Client } from './client';

export class RemoteSnapshotter implements Snapshotter {
  constructor(
    private readonly client: Client,
    /** The snapshotter's name on the daemon: overlayfs, native, btrfs, devmapper. */
    readonly name: string,
  ) {}

  private call(method: string, req: Record<string, unknown>) {
    return this.client.call('snapshots', method, { snapshotter: this.name, ...req });
  }

  async stat(key: string): Promise<Info> {
    return infoFromProto((await this.call('Stat', { key })).info as PbInfo);
  }
  async update(info: Info, ...fieldpaths: string[]): Promise<Info> {
    return infoFromProto((await this.call('Update', { info: infoToProto(info), updateMask: { paths: fieldpaths } })).info as PbInfo);
  }
  async usage(key: string): Promise<Usage> {
    const u = await this.call('Usage', { key });
    return { size: Number(u.size), inodes: Number(u.inodes) };
  }
  async mounts(key: string): Promise<Mount[]> {
    return mountsFromProto((await this.call('Mounts', { key })).mounts);
  }
  async prepare(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return mountsFromProto((await this.call('Prepare', { key, parent, labels: opts?.labels ?? {} })).mounts);
  }
  async view(key: string, parent: string, opts?: SnapshotOpts): Promise<Mount[]> {
    return mountsFromProto((await this.call('View', { key, parent, labels: opts?.labels ?? {} })).mounts);
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
  /** Lists first, then calls fn: a callback that calls back into the daemon cannot stall the stream. */
  async walk(fn: WalkFunc, ...filters: string[]): Promise<void> {
    const infos: Info[] = [];
    for await (const msg of this.client.stream('snapshots', 'List', { snapshotter: this.name, filters })) {
      for (const i of msg.info as PbInfo[]) infos.push(infoFromProto(i));
    }
    for (const i of infos) await fn(i);
  }
  /** The client belongs to the caller. */
  async close(): Promise<void> {}
}
