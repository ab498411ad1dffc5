/**
 * Image references (docker/distribution's reference grammar, normalised as
 * containerd does): [domain/]path[:tag][@digest]; "busybox" is
 * docker.io/library/busybox:latest.
 */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

const refRe = /^(?:([a-zA-Z0-9.-]+(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)\/)?([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$/;

export function parseReference(s: string): Reference {
  const m = refRe.exec(s);
  if (!m) throw new InvalidArgumentError(`invalid reference format: ${JSON.stringify(s)}`);
  let [, domain, path, tag, digest] = m;
  // A first component is a domain only if it has a dot or port, or is localhost.
  if (domain && !/[.:]/.test(domain) && domain !== 'localhost' && !domain.startsWith('[')) {
    if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(domain)) throw new InvalidArgumentError(`invalid reference format: repository name must be lowercase: ${JSON.stringify(s)}`);
    path = `${domain}/${path}`;
    domain = '';
  }
  if (!domain) {
    domain = 'docker.io';
    if (!path.includes('/')) path = `library/${path}`;
  }
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`;
}

/** The normalised name ("docker.io/library/busybox:latest"). */
export function normalize(s: string): string {
  return formatReference(parseReference(s));
}
