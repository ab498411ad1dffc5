/**
 * devices: with deny-all plus runc's defaults, a device outside the list
 * cannot be opened (EPERM) and the defaults still can. v1 writes
 * devices.allow/deny; v2 attaches the BPF program built in TypeScript (through
 * berth-nsexec). On a hybrid host the same program is also proven on the
 * cgroup2 mount at /sys/fs/cgroup/unified.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isInvalidArgument } from '../../proto/src/errdefs';
import { HYBRID_MOUNTPOINT } from '../../runtime/src/cgroups/detect';
import type { CgroupManager } from '../../runtime/src/cgroups/manager';
import { V2Manager } from '../../runtime/src/cgroups/v2/manager';
import { CgroupTracker, describeIf, host, isV2, uniqueId, waitFor, type Started } from './cgroups-support';

const t = new CgroupTracker();
afterEach(() => t.cleanup());

const DENY_ALL = { allow: false, access: 'rwm' };
/** /dev/null listed in linux.devices: runc then drops its default rule for it. */
const NULL_DEVICE = [{ path: '/dev/null' }];

/** A shell in the cgroup that runs the lines it is sent. */
function shell(m: CgroupManager): Started {
  return t.start(m, 'while read cmd; do eval "$cmd"; done');
}

let seq = 0;
async function run(p: Started, cmd: string): Promise<string> {
  const mark = `__done_${++seq}__`;
  const from = p.output().length;
  p.child.stdin!.write(`{ ${cmd}; } 2>&1; echo ${mark}\n`);
  await waitFor(() => p.output().includes(mark), 10_000, cmd);
  return p.output().slice(from, p.output().indexOf(mark));
}

const TRY_NULL = 'echo x > /dev/null && echo null-ok';
const TRY_ZERO = 'head -c 4 /dev/zero | wc -c';

function checkEnforced(m: CgroupManager): () => Promise<void> {
  return async () => {
    m.create();
    m.set({ devices: [DENY_ALL] });
    const p = shell(m);
    expect(await run(p, TRY_NULL)).toMatch(/can't create \/dev\/null: Operation not permitted/);
    expect((await run(p, TRY_ZERO)).trim()).toBe('4');
    // update: allow /dev/null again; the running process can open it now
    m.set({ devices: [DENY_ALL, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    expect(await run(p, TRY_NULL)).toContain('null-ok');
  };
}

describe('devices', () => {
  it('deny-all + defaults: /dev/null (listed in linux.devices) is EPERM, /dev/zero works, an update re-allows', async () => {
    const m = t.manager('dev', { linuxDevices: NULL_DEVICE });
    await checkEnforced(m)();
    if (!isV2) {
      const list = fs.readFileSync(path.join(m.paths().devices, 'devices.list'), 'utf8');
      expect(list).not.toContain('a *:* rwm');
      expect(list).toContain('c 1:5 rwm');
      expect(list).toContain('c 136:* rwm');
      expect(list).toContain('c 1:3 rwm');
    }
  });

  it('without linux.devices, the default rule keeps /dev/null open (runc appends defaults after the config)', async () => {
    const m = t.manager('devdef');
    m.create();
    m.set({ devices: [DENY_ALL, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    const p = shell(m);
    expect(await run(p, TRY_NULL)).toContain('null-ok');
    expect(await run(p, 'cat /dev/kmsg </dev/null | head -c 0')).toMatch(/Operation not permitted/);
  });

  it('a hole punched in a wildcard rule is refused, and the rules in place stay', async () => {
    const m = t.manager('devhole');
    m.create();
    m.set({ devices: [DENY_ALL] });
    const before = isV2 ? '' : fs.readFileSync(path.join(m.paths().devices, 'devices.list'), 'utf8');
    let err: unknown;
    try {
      m.set({
        devices: [DENY_ALL, { allow: true, type: 'c', major: 1, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'r' }],
        pids: { limit: 5 },
      });
    } catch (e) {
      err = e;
    }
    expect(isInvalidArgument(err)).toBe(true);
    expect(String(err)).toMatch(/cannot punch hole in existing wildcard rule \[c 1:\* rwm\]/);
    if (!isV2) expect(fs.readFileSync(path.join(m.paths().devices, 'devices.list'), 'utf8')).toBe(before);
    const pidsDir = m.paths()[isV2 ? '' : 'pids'];
    expect(fs.readFileSync(path.join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('max');
  });
});

describeIf(host.mode === 'hybrid', 'needs a hybrid host (cgroup2 at /sys/fs/cgroup/unified)')('v2 device filter on the hybrid cgroup2 mount', () => {
  it('the BPF program is enforced (EPERM), and a second set() replaces it', async () => {
    const dir = path.join(HYBRID_MOUNTPOINT, uniqueId('bpf'));
    const m = t.adopt(new V2Manager(dir, { linuxDevices: NULL_DEVICE }, HYBRID_MOUNTPOINT));
    await checkEnforced(m)();
  });
});
