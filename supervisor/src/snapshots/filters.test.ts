import { isInvalidArgument } from '../../../proto/src/errdefs';
import { parseFilters } from './filters';

const obj: Record<string, string> = { name: 'a-wl', parent: '', kind: 'active', 'labels.l': '2', 'labels.containerd.io/gc.root': 'x' };
const adaptor = (fp: string[]): [string, boolean] => {
  const k = fp.join('.');
  return k in obj ? [obj[k], true] : ['', false];
};
const m = (...f: string[]): boolean => parseFilters(...f).match(adaptor);

describe('filters (containerd syntax)', () => {
  it('matches ==, !=, presence, ~= and quoted keys/values', () => {
    expect(m('name==a-wl')).toBe(true);
    expect(m('name!=a-wl')).toBe(false);
    expect(m('parent!=""')).toBe(false);
    expect(m('parent==""')).toBe(true);
    expect(m('labels.l')).toBe(true);
    expect(m('labels.m')).toBe(false);
    expect(m('labels.l==2')).toBe(true);
    expect(m('labels."containerd.io/gc.root"==x')).toBe(true);
    expect(m('name~=^a-')).toBe(true);
    expect(m('name~=/w.$/')).toBe(true);
  });
  it('ANDs with commas and ORs separate filters', () => {
    expect(m('kind==active,labels.l==2')).toBe(true);
    expect(m('kind==active,labels.l==3')).toBe(false);
    expect(m('kind==view', 'labels.l==2')).toBe(true);
    expect(m()).toBe(true);
  });
  it('refuses bad syntax with InvalidArgument', () => {
    for (const bad of ['name==', 'name=x', '==x', 'labels."open', 'name~=(']) {
      let err: unknown;
      try {
        parseFilters(bad);
      } catch (e) {
        err = e;
      }
      expect(isInvalidArgument(err)).toBe(true);
    }
  });
});
