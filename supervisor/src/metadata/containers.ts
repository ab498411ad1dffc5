/** Container records (containerd's metadata/containers.go). */
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../../proto/src/errdefs';
import { labelField, parseAll, type Adaptor } from '../filters/filters';
import { now, validateIdentifier, type Timestamp } from '../services/grpc-util';
import type { MetadataDB } from './db';
import { applyLabelPaths, validateLabels } from './labels';

export interface Any {
  type_url: string;
  value: Buffer;
}

export interface Container {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options: Any | null };
  spec: Any | null;
  snapshotter: string;
  snapshotKey: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  extensions: Record<string, Any>;
}

const containerKey = (ns: string, id: string) => ['v1', ns, 'containers', id];

function validate(c: Container): void {
  validateIdentifier(c.id, 'container id');
  validateLabels(c.labels);
  for (const k of Object.keys(c.extensions ?? {})) {
    if (!k) throw new InvalidArgumentError('extension keys must not be zero-length: invalid argument');
  }
  if (!c.runtime?.name) throw new InvalidArgumentError('must specify a runtime name: invalid argument');
  if (!c.spec) throw new InvalidArgumentError('container.Spec must be set: invalid argument');
  if (c.snapshotKey && !c.snapshotter) throw new InvalidArgumentError('container.Snapshotter must be set if container.SnapshotKey is set: invalid argument');
}

/** containerd's adaptContainer: id, runtime.name, image, labels (nothing else filters). */
function adaptor(c: Container): Adaptor {
  return (fp) => {
    const one = (v: string): [string, boolean] => (fp.length === 1 || (fp[0] === 'runtime' && fp.length === 2) ? [v, v !== ''] : ['', false]);
    switch (fp[0]) {
      case 'id':
        return one(c.id);
      case 'image':
        return one(c.image);
      case 'runtime':
        return fp[1] === 'name' ? one(c.runtime.name) : ['', false];
      case 'labels':
        return labelField(c.labels, fp.slice(1));
      default:
        return ['', false];
    }
  };
}

function toAny(a: Any | null | undefined): Any | null {
  return a ? { type_url: a.type_url, value: Buffer.from(a.value ?? []) } : null;
}

function fromRecord(id: string, r: Omit<Container, 'id'>): Container {
  const ext: Record<string, Any> = {};
  for (const [k, v] of Object.entries(r.extensions ?? {})) ext[k] = toAny(v)!;
  return { id, ...r, spec: toAny(r.spec), runtime: { name: r.runtime.name, options: toAny(r.runtime.options) }, extensions: ext };
}

export class ContainerStore {
  constructor(readonly db: MetadataDB) {}

  get(ns: string, id: string): Container {
    const rec = this.db.get<Omit<Container, 'id'>>(containerKey(ns, id));
    if (!rec) throw new NotFoundError(`container "${id}" in namespace "${ns}": not found`);
    return fromRecord(id, rec);
  }

  list(ns: string, filters: string[]): Container[] {
    const f = parseAll(filters);
    const out: Container[] = [];
    for (const [k, v] of this.db.children<Omit<Container, 'id'>>(['v1', ns, 'containers'])) {
      const c = fromRecord(String(k[3]), v);
      if (f.match(adaptor(c))) out.push(c);
    }
    return out;
  }

  create(ns: string, c: Container): Container {
    validate(c);
    return this.db.tx(() => {
      this.db.ensureNamespace(ns);
      if (this.db.get(containerKey(ns, c.id))) throw new AlreadyExistsError(`container "${c.id}": already exists`);
      const t = now();
      const { id, ...rest } = { ...c, createdAt: t, updatedAt: t };
      this.db.put(containerKey(ns, id), rest);
      return { ...c, createdAt: t, updatedAt: t };
    });
  }

  update(ns: string, c: Container, paths: string[]): Container {
    if (!c.id) throw new InvalidArgumentError('must specify a container id: invalid argument');
    return this.db.tx(() => {
      const cur = this.get(ns, c.id);
      const next: Container = { ...cur, extensions: { ...cur.extensions } };
      if (paths.length === 0) {
        if (c.runtime?.name && c.runtime.name !== cur.runtime.name) throw new InvalidArgumentError(`container.Runtime.Name field is immutable: invalid argument`);
        if (c.snapshotter && c.snapshotter !== cur.snapshotter) throw new InvalidArgumentError('container.Snapshotter field is immutable: invalid argument');
        Object.assign(next, { labels: c.labels ?? {}, spec: c.spec, extensions: c.extensions ?? {}, image: c.image, snapshotKey: c.snapshotKey });
      } else {
        for (const p of paths) {
          if (p === 'labels' || p.startsWith('labels.')) continue;
          if (p === 'spec') next.spec = c.spec;
          else if (p === 'image') next.image = c.image;
          else if (p === 'snapshotkey') next.snapshotKey = c.snapshotKey;
          else if (p === 'extensions') next.extensions = { ...(c.extensions ?? {}) };
          else if (p.startsWith('extensions.')) {
            // as containerd: the request's value, an empty Any when the request has none
            const k = p.slice('extensions.'.length);
            next.extensions[k] = c.extensions?.[k] ?? { type_url: '', value: Buffer.alloc(0) };
          } else throw new InvalidArgumentError(`cannot update ${JSON.stringify(p)} field on ${JSON.stringify(c.id)}: invalid argument`);
        }
        next.labels = applyLabelPaths(cur.labels, c.labels ?? {}, paths) ?? cur.labels;
      }
      validate(next);
      next.updatedAt = now();
      const { id, ...rest } = next;
      this.db.put(containerKey(ns, id), rest);
      return next;
    });
  }

  delete(ns: string, id: string): void {
    this.db.tx(() => {
      if (!this.db.remove(containerKey(ns, id))) throw new NotFoundError(`container "${id}" in namespace "${ns}": not found`);
      this.db.markDirty(); // its snapshot and gc.ref labels may be all that held something
    });
  }
}
