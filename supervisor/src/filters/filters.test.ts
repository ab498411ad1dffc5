import { adapt, parse, parseAll } from './filters';

describe('filters', () => {
  const obj = adapt({ name: 'docker.io/library/busybox:latest', kind: 'committed', parent: '' }, { 'a.b': 'x', l1: '2' });

  it.each([
    ['name', true],
    ['parent', false],
    ['name==docker.io/library/busybox:latest', true],
    ['name!=foo', true],
    ['parent!=""', false],
    ['parent==""', false],
    ['name~=busybox', true],
    ['name~=/^docker\\.io/', true],
    ['name~="^quay"', false],
    ['labels."a.b"==x', true],
    ['labels.a.b==x', true],
    ['labels.l1', true],
    ['labels.l2', false],
    ['labels.l1==2,kind==committed', true],
    ['labels.l1==2,kind==active', false],
    ['', true],
  ])('%s → %s', (f, want) => {
    expect(parse(f).match(obj)).toBe(want);
  });

  it('ORs separate filter strings', () => {
    expect(parseAll(['kind==active', 'labels.l1==2']).match(obj)).toBe(true);
    expect(parseAll(['kind==active', 'labels.l1==3']).match(obj)).toBe(false);
    expect(parseAll([]).match(obj)).toBe(true);
  });

  it.each(['name==', 'labels."unterminated', 'name~=(', 'a b', '==x'])('rejects %s as InvalidArgument', (f) => {
    expect(() => parse(f)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });
});

describe('filters: quoting and escapes (containerd filters/quote.go)', () => {
  const obj = adapt({ name: 'a-wl', path: 'x\ty' }, { 'containerd.io/gc.root': 'x', l: '2' });
  it.each([
    ['labels."containerd.io/gc.root"==x', true],
    ['name~=|^a-|', true],
    ['name~=/w.$/', true],
    ['path=="x\\ty"', true],
    ['path=="x\\011y"', true],
    ['path=="x\\x09y"', true],
    ['path=="x\\u0009y"', true],
    ['path=="x\\U00000009y"', true],
    ['name=="a\\x2dwl"', true],
  ])('%s → %s', (f, want) => {
    expect(parse(f).match(obj)).toBe(want);
  });

  it.each(['name=x', 'labels."open', 'path=="\\q"', 'path=="\\777"', 'path=="\\xZZ"', 'name~=|open'])('rejects %s as InvalidArgument', (f) => {
    expect(() => parse(f)).toThrow(expect.objectContaining({ kind: 'InvalidArgument' }));
  });
});
