/** Namespaces (containerd's metadata/namespaces.go): a namespace is deletable only when empty. */
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../../../proto/src/errdefs';
import { validateIdentifier } from '../services/grpc-util';
import type { MetadataDB } from './db';
import { applyLabelPaths, validateLabels } from './labels';

export interface Namespace {
  name: string;
  labels: Record<string, string>;
}

/** Kinds of object that keep a namespace from being deleted (leases do not, as containerd). */
const objectKinds: Array<[string[], string]> = [
  [['image'], 'images'],
  [['blob'], 'blobs'],
  [['containers'], 'containers'],
];

export class NamespaceStore {
  constructor(readonly db: MetadataDB) {}

  /** A namespace's labels; an unknown name answers empty labels, as containerd's Get does. */
  get(name: string): Namespace {
    const rec = this.db.get<{ labels: Record<string, string> }>(['namespaces', name]);
    return { name, labels: rec?.labels ?? {} };
  }

  private mustExist(name: string): void {
    if (!this.db.get(['namespaces', name])) throw new NotFoundError(`namespace ${name}: not found`);
  }

  list(): Namespace[] {
    return this.db.namespaces().map((n) => this.get(n));
  }

  create(name: string, labels: Record<string, string>): Namespace {
    validateIdentifier(name, 'namespace');
    return this.db.tx(() => {
      if (this.db.get(['namespaces', name])) throw new AlreadyExistsError(`namespace ${name}: already exists`);
      const ns = { name, labels: validateLabels(labels) };
      this.db.put(['namespaces', name], { labels: ns.labels });
      return ns;
    });
  }

  update(name: string, labels: Record<string, string>, paths: string[]): Namespace {
    return this.db.tx(() => {
      this.mustExist(name);
      const cur = this.get(name);
      let next = validateLabels(labels);
      if (paths.length > 0) {
        for (const p of paths) {
          if (p !== 'labels' && !p.startsWith('labels.')) {
            throw new InvalidArgumentError(`cannot update ${JSON.stringify(p)} field on namespace ${name}: invalid argument`);
          }
        }
        next = applyLabelPaths(cur.labels, next, paths) ?? cur.labels;
      }
      this.db.put(['namespaces', name], { labels: next });
      return { name, labels: next };
    });
  }

  /** Deletes an empty namespace; FailedPrecondition naming what is left otherwise. */
  delete(name: string): void {
    this.db.tx(() => {
      this.mustExist(name);
      const left: string[] = [];
      for (const [sub, what] of objectKinds) {
        const prefix = sub[0] === 'blob' ? ['v1', name, 'content', 'blob'] : ['v1', name, ...sub];
        if (!this.db.children(prefix).next().done) left.push(what);
      }
      if (!this.db.children(['v1', name, 'snapshots'], 2).next().done) left.push('snapshots');
      if (left.length) {
        throw new FailedPreconditionError(`namespace "${name}" must be empty, but it still has ${left.join(', ')}: failed precondition`);
      }
      this.db.removeTree(['v1', name]);
      this.db.remove(['namespaces', name]);
    });
  }
}
