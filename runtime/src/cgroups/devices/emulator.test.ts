import { DeviceEmulator } from './emulator';
import { ruleString, type DeviceRule } from './rules';

const r = (s: string, allow: boolean): DeviceRule => {
  const [type, mm, permissions] = s.split(' ');
  const [major, minor] = mm.split(':').map((v) => (v === '*' ? -1 : Number(v)));
  return { type: type as DeviceRule['type'], major, minor, permissions, allow };
};
const show = (rules: DeviceRule[]): string[] => rules.map((x) => `${x.allow ? 'allow' : 'deny'} ${ruleString(x)}`);

/** Applies the transition to a copy of source and checks it lands on target (runc's double check). */
function transition(source: DeviceEmulator, target: DeviceEmulator): string[] {
  const rules = source.transition(target);
  const copy = DeviceEmulator.fromRules([]);
  copy.defaultAllow = source.defaultAllow;
  copy.rules = new Map(source.rules);
  for (const x of rules) copy.apply(x);
  expect(copy.equals(target)).toBe(true);
  return show(rules);
}

describe('DeviceEmulator (runc devices_emulator.go)', () => {
  it('loads devices.list: "a *:* rwm" is black-list mode', () => {
    expect(DeviceEmulator.fromList('a *:* rwm\n').isAllowAll()).toBe(true);
    const e = DeviceEmulator.fromList('c 1:3 rwm\nc 136:* rwm\nb *:* m\n');
    expect(e.isBlacklist()).toBe(false);
    expect(e.rules.size).toBe(3);
  });

  it('refuses malformed devices.list lines', () => {
    expect(() => DeviceEmulator.fromList('x 1:3 rwm\n')).toThrow(/unknown device type/);
    expect(() => DeviceEmulator.fromList('c 1:3 wr\n')).toThrow(/bad access mode/);
    expect(() => DeviceEmulator.fromList('c 1:3\n')).toThrow(/malformed/);
  });

  it('merges permissions and removes them again', () => {
    const e = DeviceEmulator.fromRules([r('a *:* rwm', false), r('c 1:3 r', true), r('c 1:3 w', true), r('c 1:3 r', false)]);
    expect(show(e.cleanRules())).toEqual(['allow c 1:3 w']); // from deny-all: no reset needed
  });

  it('refuses to punch a hole in a wildcard rule (cgroup v1 would ignore it silently)', () => {
    expect(() => DeviceEmulator.fromRules([r('a *:* rwm', false), r('c 1:* rwm', true), r('c 1:3 r', false)])).toThrow(
      /unable to remove 'allow' exception: requested rule \[c 1:3 r\] not supported by devices cgroupv1 \(cannot punch hole in existing wildcard rule \[c 1:\* rwm\]\)/,
    );
  });

  describe.each([false, true])('transitions from a %s-default source', (sourceAllow) => {
    const src = (rules: string[]): DeviceEmulator => {
      const e = new DeviceEmulator();
      e.defaultAllow = sourceAllow;
      for (const x of rules) e.apply(r(x, !sourceAllow));
      return e;
    };
    // A black-list source cannot be read back, so it always starts with a reset.
    const reset = sourceAllow ? [`${sourceAllow ? 'allow' : 'deny'} a *:* rwm`] : [];
    const readd = (rules: string[]): string[] => (sourceAllow ? rules.map((x) => `${sourceAllow ? 'deny' : 'allow'} ${x}`) : []);

    it('noop', () => {
      expect(transition(src(['c 42:* wm']), src(['c 42:* wm']))).toEqual([...reset, ...readd(['c 42:* wm'])]);
    });
    it('switches mode with one disruptive rule first', () => {
      const target = new DeviceEmulator();
      target.defaultAllow = !sourceAllow;
      target.apply(r('b 42:* wm', sourceAllow));
      expect(transition(src(['c 1:2 rwm']), target)).toEqual([
        `${!sourceAllow ? 'allow' : 'deny'} a *:* rwm`,
        `${sourceAllow ? 'allow' : 'deny'} b 42:* wm`,
      ]);
    });
    it('adds, removes and changes only what differs', () => {
      const out = transition(src(['c 1:2 rwm', 'b 3:9 rw', 'c 5:5 r']), src(['c 1:2 rwm', 'b 42:1337 rwm', 'c 5:5 rw']));
      if (sourceAllow) {
        expect(out[0]).toBe('allow a *:* rwm');
      } else {
        expect(out).toEqual(['deny b 3:9 rw', 'allow c 5:5 w', 'allow b 42:1337 rwm']);
      }
    });
  });
});
