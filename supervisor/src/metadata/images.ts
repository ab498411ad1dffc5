/** Image records (containerd's metadata/images.go): a name → target descriptor, labels and times. */
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '../../../proto/src/errdefs';
import { parseDigest } from '../content/digest';
import { adapt, parseAll, labelField, type Adaptor } from '../filters/filters';
import { now, type Timestamp } from '../services/grpc-util';
import type { MetadataDB } from './db';
import { applyLabelPaths, validateLabels } from './labels';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

export interface Image {
  name: string;
  labels: Record<string, string>;
  target: Descriptor;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

const imageKey = (ns: string, name: string) => ['v1', ns, 'image', name];

function validateImage(img: Image): void {
  if (!img.name) throw new InvalidArgumentError('image name must not be empty: invalid argument');
  validateLabels(img.labels);
  if (!img.target || !img.target.mediaType) throw new InvalidArgumentError(`image ${img.name}: target mediatype must not be empty: invalid argument`);
  try {
    parseDigest(img.target.digest);
  } catch (err) {
    throw new InvalidArgumentError(`image ${img.name}: target digest ${JSON.stringify(img.target.digest)} is invalid: invalid argument`, { cause: err });
  }
}

function imageAdaptor(img: Image): Adaptor {
  return (fp) => {
    switch (fp[0]) {
      case 'name':
        return fp.length === 1 && img.name ? [img.name, true] : ['', false];
      case 'target':
        if (fp.length !== 2) return ['', false];
        if (fp[1] === 'digest') return [img.target.digest, !!img.target.digest];
        if (fp[1] === 'mediatype') return [img.target.mediaType, !!img.target.mediaType];
        return ['', false];
      case 'labels':
        return labelField(img.labels, fp.slice(1));
      case 'annotations':
        return labelField(img.target.annotations, fp.slice(1));
      default:
        return adapt({})(fp);
    }
  };
}

export class ImageStore {
  constructor(readonly db: MetadataDB) {}

  get(ns: string, name: string): Image {
    const rec = this.db.get<Omit<Image, 'name'>>(imageKey(ns, name));
    if (!rec) throw new NotFoundError(`image ${JSON.stringify(name)}: not found`);
    return { name, ...rec };
  }

  list(ns: string, filters: string[]): Image[] {
    const f = parseAll(filters);
    const out: Image[] = [];
    for (const [k, v] of this.db.children<Omit<Image, 'name'>>(['v1', ns, 'image'])) {
      const img = { name: String(k[3]), ...v };
      if (f.match(imageAdaptor(img))) out.push(img);
    }
    return out;
  }

  create(ns: string, img: Image): Image {
    validateImage(img);
    return this.db.tx(() => {
      this.db.ensureNamespace(ns);
      if (this.db.get(imageKey(ns, img.name))) throw new AlreadyExistsError(`image ${JSON.stringify(img.name)}: already exists`);
      const t = now();
      const rec = { labels: img.labels ?? {}, target: normTarget(img.target), createdAt: t, updatedAt: t };
      this.db.put(imageKey(ns, img.name), rec);
      return { name: img.name, ...rec };
    });
  }

  update(ns: string, img: Image, paths: string[]): Image {
    if (!img.name) throw new InvalidArgumentError('image name must not be empty: invalid argument');
    return this.db.tx(() => {
      const cur = this.get(ns, img.name);
      const next: Image = { ...cur, target: { ...cur.target } };
      if (paths.length === 0) {
        next.labels = img.labels ?? {};
        next.target = normTarget(img.target);
      } else {
        for (const p of paths) {
          if (p === 'labels' || p.startsWith('labels.')) continue;
          if (p === 'target') next.target = normTarget(img.target);
          else if (p === 'annotations') next.target.annotations = { ...(img.target?.annotations ?? {}) };
          else if (p.startsWith('annotations.')) {
            const key = p.slice('annotations.'.length);
            const v = img.target?.annotations?.[key];
            if (v === undefined) delete next.target.annotations[key];
            else next.target.annotations[key] = v;
          } else throw new InvalidArgumentError(`cannot update ${JSON.stringify(p)} field on image ${JSON.stringify(img.name)}: invalid argument`);
        }
        next.labels = applyLabelPaths(cur.labels, img.labels ?? {}, paths) ?? cur.labels;
      }
      validateImage(next);
      next.updatedAt = now();
      const { name: _n, ...rec } = next;
      this.db.put(imageKey(ns, img.name), rec);
      return next;
    });
  }

  delete(ns: string, name: string): void {
    this.db.tx(() => {
      if (!this.db.remove(imageKey(ns, name))) throw new NotFoundError(`image ${JSON.stringify(name)}: not found`);
      this.db.markDirty();
    });
  }
}

function normTarget(t: Descriptor | undefined): Descriptor {
  return { mediaType: t?.mediaType ?? '', digest: t?.digest ?? '', size: Number(t?.size ?? 0), annotations: { ...(t?.annotations ?? {}) } };
}
