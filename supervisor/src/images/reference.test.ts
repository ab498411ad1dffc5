import { normalize, parseReference } from './reference';

describe('references', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['library/busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['user/app', 'docker.io/user/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b:v1', '127.0.0.1:5000/a/b:v1'],
    ['quay.io/x/y@sha256:' + 'a'.repeat(64), 'quay.io/x/y@sha256:' + 'a'.repeat(64)],
    ['ghcr.io/x/y:t@sha256:' + 'b'.repeat(64), 'ghcr.io/x/y:t@sha256:' + 'b'.repeat(64)],
  ])('%s → %s', (input, want) => expect(normalize(input)).toBe(want));

  it('splits domain, path, tag', () => {
    expect(parseReference('127.0.0.1:5000/a/b:v1')).toEqual({ domain: '127.0.0.1:5000', path: 'a/b', tag: 'v1', digest: undefined });
  });

  it.each(['UPPER/case', 'a:b:c', '', 'x/y:'])('refuses %j', (s) => expect(() => parseReference(s)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' })));
});
