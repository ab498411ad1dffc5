import { DEFAULT_ALLOWED_DEVICES, containerDeviceRules, type DeviceRule } from './rules';
import { deviceFilter, disassemble, encodeInsns } from './filter';

const PROLOGUE = [
  '0: LdXMemW dst: r2 src: r1 off: 0 imm: 0',
  '1: And32Imm dst: r2 imm: 65535',
  '2: LdXMemW dst: r3 src: r1 off: 0 imm: 0',
  '3: RSh32Imm dst: r3 imm: 16',
  '4: LdXMemW dst: r4 src: r1 off: 4 imm: 0',
  '5: LdXMemW dst: r5 src: r1 off: 8 imm: 0',
];

const listing = (rules: DeviceRule[]): string[] => disassemble(deviceFilter(rules)).split('\n');
const all = (allow: boolean): DeviceRule => ({ type: 'a', major: -1, minor: -1, permissions: 'rwm', allow });

// The expected programs are runc's devicefilter_test.go cases.
describe('deviceFilter (runc ebpf/devicefilter)', () => {
  it('no rules: deny everything', () => {
    expect(listing([])).toEqual([...PROLOGUE, 'block-0:', '6: Mov32Imm dst: r0 imm: 0', '7: Exit']);
  });

  it('privileged: allow everything', () => {
    expect(listing([all(true)])).toEqual([...PROLOGUE, 'block-0:', '6: Mov32Imm dst: r0 imm: 1', '7: Exit']);
  });

  it('privileged except one block device', () => {
    expect(listing([all(true), { type: 'b', major: 8, minor: 0, permissions: 'rwm', allow: false }])).toEqual([
      ...PROLOGUE,
      'block-0:',
      '6: JNEImm dst: r2 off: -1 imm: 1 <block-1>',
      '7: JNEImm dst: r4 off: -1 imm: 8 <block-1>',
      '8: JNEImm dst: r5 off: -1 imm: 0 <block-1>',
      '9: Mov32Imm dst: r0 imm: 0',
      '10: Exit',
      'block-1:',
      '11: Mov32Imm dst: r0 imm: 1',
      '12: Exit',
    ]);
  });

  it('weird: rules before "a" are forgotten (as cgroup v1)', () => {
    const b = (minor: number): DeviceRule => ({ type: 'b', major: 8, minor, permissions: 'rwm', allow: false });
    expect(listing([b(1), all(true), b(2)])).toEqual([
      ...PROLOGUE,
      'block-0:',
      '6: JNEImm dst: r2 off: -1 imm: 1 <block-1>',
      '7: JNEImm dst: r4 off: -1 imm: 8 <block-1>',
      '8: JNEImm dst: r5 off: -1 imm: 2 <block-1>',
      '9: Mov32Imm dst: r0 imm: 0',
      '10: Exit',
      'block-1:',
      '11: Mov32Imm dst: r0 imm: 1',
      '12: Exit',
    ]);
  });

  it("runc's built-in allow list: 11 blocks, sorted by (major, minor, type), then deny", () => {
    const out = listing(DEFAULT_ALLOWED_DEVICES.map((d) => ({ ...d })));
    expect(out.length).toBe(6 + 58 + 12);
    // block-0: mknod of any block device (access check, no major/minor)
    expect(out.slice(6, 13)).toEqual([
      'block-0:',
      '6: JNEImm dst: r2 off: -1 imm: 1 <block-1>',
      '7: Mov32Reg dst: r1 src: r3',
      '8: And32Imm dst: r1 imm: 1',
      '9: JNEReg dst: r1 off: -1 src: r3 <block-1>',
      '10: Mov32Imm dst: r0 imm: 1',
      '11: Exit',
    ]);
    // block-9: tun (c 10:200 rwm); block-10: /dev/pts (c 136:* rwm, no minor check)
    expect(out.slice(out.indexOf('block-9:'), out.indexOf('block-11:'))).toEqual([
      'block-9:',
      '53: JNEImm dst: r2 off: -1 imm: 2 <block-10>',
      '54: JNEImm dst: r4 off: -1 imm: 10 <block-10>',
      '55: JNEImm dst: r5 off: -1 imm: 200 <block-10>',
      '56: Mov32Imm dst: r0 imm: 1',
      '57: Exit',
      'block-10:',
      '58: JNEImm dst: r2 off: -1 imm: 2 <block-11>',
      '59: JNEImm dst: r4 off: -1 imm: 136 <block-11>',
      '60: Mov32Imm dst: r0 imm: 1',
      '61: Exit',
    ]);
    expect(out.slice(-3)).toEqual(['block-11:', '62: Mov32Imm dst: r0 imm: 0', '63: Exit']);
  });

  it('encodes struct bpf_insn with resolved jump offsets', () => {
    const f = deviceFilter([all(true), { type: 'b', major: 8, minor: 0, permissions: 'rwm', allow: false }]);
    const b = encodeInsns(f.insns);
    expect(b.length).toBe(13 * 8);
    // 6: JNE r2, 1 → block-1 at 11: off = 11 - 7 = 4; code 0x55, regs dst=2 src=0
    expect([...b.subarray(6 * 8, 7 * 8)]).toEqual([0x55, 0x02, 4, 0, 1, 0, 0, 0]);
    // 0: ldxw r2, [r1+0]: code 0x61, dst 2 | src 1 << 4
    expect([...b.subarray(0, 8)]).toEqual([0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // last: exit
    expect([...b.subarray(12 * 8)]).toEqual([0x95, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('a config device in linux.devices drops the default rule for its path', () => {
    const rules = containerDeviceRules([{ allow: false, access: 'rwm' }], [{ path: '/dev/null' }]);
    expect(rules.some((x) => x.major === 1 && x.minor === 3)).toBe(false);
    expect(rules.some((x) => x.major === 1 && x.minor === 5)).toBe(true);
  });

  it('refuses malformed OCI device rules', () => {
    expect(() => containerDeviceRules([{ allow: true, access: '' }])).toThrow(/device access cannot be empty/);
    expect(() => containerDeviceRules([{ allow: true, access: 'rwx' }])).toThrow(/unknown device access "x"/);
    expect(() => containerDeviceRules([{ allow: true, type: 'p' as 'a', access: 'r' }])).toThrow(/invalid cgroup device type "p"/);
    expect(() => containerDeviceRules([{ allow: true, type: 'c', major: -5, access: 'r' }])).toThrow(/not a device number/);
  });
});
