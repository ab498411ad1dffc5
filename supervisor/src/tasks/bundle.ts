/**
 * A task's bundle (containerd runtime/v2/bundle.go): the OCI bundle the shim
 * runs in, <state>/<ns>/<id>, holding config.json (the container's spec as
 * the client stored it), rootfs/ (where the shim mounts the rootfs mounts),
 * `work` → <root>/<ns>/<id> (a persistent work dir), and what the shim and the
 * manager leave there: `address` (the shim's ttrpc address, what a restarted
 * daemon reconnects to), `shim-binary-path`, the `log` FIFO.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlreadyExistsError } from '../../../proto/src/errdefs';
import { writeFileAtomic } from '../../../runtime/src/atomic-file';
import { unmountAll } from '../../../shim/src/mount/mount';
import { validateIdentifier } from '../services/grpc-util';
import { mountsBelow } from '../snapshots/fsutil/dirs';

export const CONFIG_FILE = 'config.json';
export const ADDRESS_FILE = 'address';
export const SHIM_BINARY_FILE = 'shim-binary-path';
export const LOG_FIFO = 'log';

export interface Bundle {
  id: string;
  namespace: string;
  /** <state>/<ns>/<id> */
  path: string;
}

/** The GID that container root maps to, when the spec has a user namespace (remappedGID). */
function remappedGid(spec: Buffer): number {
  let doc: { linux?: { gidMappings?: { containerID: number; hostID: number }[] } };
  try {
    doc = JSON.parse(spec.toString('utf8'));
  } catch {
    return 0; // the runtime reports a bad spec with its own words
  }
  for (const m of doc.linux?.gidMappings ?? []) if (m.containerID === 0) return m.hostID;
  return 0;
}

/** Makes the bundle directories and writes config.json; undoes everything on error. */
export function newBundle(root: string, state: string, namespace: string, id: string, spec: Buffer): Bundle {
  validateIdentifier(id, 'task id');
  const b: Bundle = { id, namespace, path: path.join(state, namespace, id) };
  const work = path.join(root, namespace, id);
  const made: string[] = [];
  try {
    fs.mkdirSync(path.dirname(b.path), { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(b.path, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(`bundle ${b.path}: already exists`, { cause: err });
      throw err;
    }
    made.push(b.path);
    const gid = remappedGid(spec);
    if (gid) {
      // the container's root may then reach the bundle (prepareBundleDirectoryPermissions)
      fs.chownSync(b.path, -1, gid);
      fs.chmodSync(b.path, 0o710);
    }
    fs.mkdirSync(path.join(b.path, 'rootfs'), { mode: 0o711 });
    fs.mkdirSync(path.dirname(work), { recursive: true, mode: 0o711 });
    fs.rmSync(work, { recursive: true, force: true }); // a stale work dir of a task that is gone
    fs.mkdirSync(work, { mode: 0o711 });
    made.push(work);
    fs.symlinkSync(work, path.join(b.path, 'work'));
    writeFileAtomic(path.join(b.path, CONFIG_FILE), spec, 0o666);
    return b;
  } catch (err) {
    for (const d of made.reverse()) fs.rmSync(d, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Removes a bundle: unmounts whatever is left on rootfs/ first (never
 * deleting below a mount), then renames the directories to a hidden name and
 * removes them, so that a half-removed bundle is never loaded as a task.
 */
export async function deleteBundle(b: Bundle): Promise<void> {
  let work: string | undefined;
  try {
    work = fs.readlinkSync(path.join(b.path, 'work'));
  } catch {
    // none
  }
  const rootfs = path.join(b.path, 'rootfs');
  try {
    await unmountAll(rootfs);
  } catch (err) {
    throw new Error(`failed to unmount rootfs ${rootfs}: ${(err as Error).message}`, { cause: err });
  }
  try {
    fs.rmdirSync(rootfs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTEMPTY: the runtime left files in an unmounted rootfs; removed below, on the same filesystem
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw new Error(`failed to remove bundle rootfs: ${(err as Error).message}`, { cause: err });
  }
  if (mountsBelow(b.path).length > 0) throw new Error(`failed to remove bundle ${b.path}: something is still mounted below it`);
  atomicDelete(b.path);
  if (work) atomicDelete(work);
}

function atomicDelete(dir: string): void {
  const hidden = path.join(path.dirname(dir), `.${path.basename(dir)}`);
  try {
    fs.renameSync(dir, hidden);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  fs.rmSync(hidden, { recursive: true, force: true });
}

/** The namespaces and task ids that have bundles (hidden, half-removed entries are finished off). */
export function listBundles(state: string): Bundle[] {
  const out: Bundle[] = [];
  for (const ns of readdir(state)) {
    if (ns.startsWith('.')) continue;
    const nsDir = path.join(state, ns);
    for (const id of readdir(nsDir)) {
      const p = path.join(nsDir, id);
      if (id.startsWith('.')) {
        if (mountsBelow(p).length === 0) fs.rmSync(p, { recursive: true, force: true });
        continue;
      }
      if (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) out.push({ id, namespace: ns, path: p });
    }
  }
  return out;
}

export function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
