/**
 * Container security through the runtime, where the kernel says no:
 * capabilities, seccomp from config.json (ERRNO, KILL, the default profile,
 * NOTIFY to a listener), rootless containers for an unprivileged user,
 * personality, I/O priority and scheduler, LSM fields, keyrings.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSeccompProfile } from '../../runtime/src/seccomp/default-profile';
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll, track } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { errorMessage, isPeer, Runtime, runtimeBinary } from '../support/runtime';
import { repoRoot } from '../support/repo';

const repo = repoRoot();

describeIf(requires('root'))('security', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  const run = (args: string[], change: (c: ReturnType<typeof setupBundle>['config']) => void = () => undefined, extra: string[] = []) => {
    const b = setupBundle(args);
    b.update((c) => {
      c.root!.readonly = false;
      change(c);
    });
    return rt.run(['run', ...extra, '--bundle', b.dir, rt.track(uniqueId())]);
  };

  test('without the capabilities, chown, mknod and ping are refused; with them they work', () => {
    const script = 'touch /tmp/f; chown 1000 /tmp/f && echo chown-ok; mknod /tmp/n c 1 3 && echo mknod-ok; ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 && echo ping-ok; true';
    const without = run(['sh', '-c', script]);
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/chown.*Operation not permitted/);
    expect(without.stderr).toMatch(/mknod.*Operation not permitted/);
    const caps = ['CAP_CHOWN', 'CAP_MKNOD', 'CAP_NET_RAW'];
    const withCaps = run(['sh', '-c', script], (c) => {
      c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
      c.linux!.resources!.devices = [{ allow: true, access: 'rwm' }];
    });
    expect(withCaps.stdout).toBe('chown-ok\nmknod-ok\nping-ok\n');
  });

  test('seccomp ERRNO: the chosen syscall gets the errno, the rest works', () => {
    const r = run(['sh', '-c', 'mkdir /tmp/d; echo $?; echo still-running'], (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
    });
    expect(r.stderr).toMatch(/mkdir: can't create directory '\/tmp\/d': Operation not permitted/);
    expect(r.stdout).toBe('1\nstill-running\n');
    const nospace = run(['mkdir', '/tmp/e'], (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }] };
    });
    expect(nospace.stderr).toMatch(/No space left on device/);
  });

  test('seccomp KILL kills the process (SIGSYS)', () => {
    const r = run(['mkdir', '/tmp/k'], (c) => {
      c.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] };
    });
    expect(r.status).toBe(128 + 31);
  });

  test('the default profile blocks unshare, mount and keyctl-like calls and lets a shell work', () => {
    const script = 'echo shell-ok; ls / >/dev/null && echo ls-ok; unshare -n true 2>&1 || echo unshare-refused; mount -t tmpfs none /mnt 2>&1 || echo mount-refused';
    const r = run(['sh', '-c', script], (c) => {
      c.linux!.seccomp = defaultSeccompProfile({ capabilities: c.process!.capabilities!.bounding ?? [] });
    });
    expect(r.stdout).toMatch(/^shell-ok\nls-ok\n/);
    expect(r.stdout).toMatch(/unshare-refused/);
    expect(r.stdout).toMatch(/mount-refused/);
  });

  test('seccomp NOTIFY: the notify fd and the container state reach the listener, which answers', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-agent-'));
    track.dir(work);
    const agentBin = path.join(work, 'seccomp-agent');
    execFileSync('cc', ['-O2', '-o', agentBin, path.join(repo, 'runtime/src/seccomp/testdata/seccomp-agent.c')]);
    const sock = path.join(work, 'agent.sock');
    const agent = spawn(agentBin, [sock, '13'], { stdio: ['ignore', 'pipe', 'inherit'] });
    track.pid(agent.pid!);
    let said = '';
    agent.stdout!.on('data', (d) => (said += d));
    await new Promise<void>((resolve) => agent.stdout!.once('data', () => resolve()));
    const b = setupBundle(['mkdir', '/tmp/notified']);
    b.update((c) => {
      c.root!.readonly = false;
      c.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        listenerPath: sock,
        listenerMetadata: 'berth-test',
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
      };
    });
    const id = rt.track(uniqueId());
    const r = rt.run(['run', '--bundle', b.dir, id]);
    expect(r.stderr).toMatch(/Permission denied/);
    await new Promise<void>((resolve) => (agent.exitCode !== null ? resolve() : agent.once('exit', () => resolve())));
    const meta = JSON.parse(/metadata (\{.*\})/.exec(said)![1]);
    expect(meta).toMatchObject({ fds: ['seccompFd'], metadata: 'berth-test', state: { id } });
    expect(meta.pid).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(b.rootfs, 'tmp/notified'))).toBe(false);
  });

  test('bad seccomp input is refused before anything runs', () => {
    for (const [seccomp, msg] of [
      [{ defaultAction: 'SCMP_ACT_EXPLODE' }, /SCMP_ACT_EXPLODE/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 1, op: 'SCMP_CMP_EQ' }] }] }, /index|argument/i],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_SOMETIMES' }] }] }, /SCMP_CMP_SOMETIMES/],
    ] as const) {
      const b = setupBundle(['true']);
      b.update((c) => (c.linux!.seccomp = seccomp as never));
      const id = uniqueId();
      const r = rt.run(['create', '--bundle', b.dir, rt.track(id)]);
      expect(r.status).toBe(1);
      expect(errorMessage(r.stderr)).toMatch(msg);
      expect(fs.existsSync(path.join(rt.root, id))).toBe(false);
    }
  });

  // runc leaves this to the kernel (EINVAL on the map write, worded differently): berth-only.
  (isPeer() ? test.skip : test)('overlapping id mappings are refused before anything runs', () => {
    const b = setupBundle(['true']);
    b.update((c) => {
      c.linux!.namespaces!.push({ type: 'user' });
      c.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 500, hostID: 300000, size: 10 }];
      c.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }];
    });
    const r = rt.run(['create', '--bundle', b.dir, rt.track(uniqueId())]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/uidMappings.*overlap/);
  });

  (isPeer() ? test.skip : test)('personality LINUX32 shows a 32-bit machine', () => {
    expect(run(['uname', '-m'], (c) => (c.linux!.personality = { domain: 'LINUX32' })).stdout).toBe('i686\n');
  });

  (isPeer() ? test.skip : test)('ioPriority and scheduler apply to the process (seen from the host)', () => {
    const b = setupBundle(['sleep', '30']);
    b.update((c) => {
      c.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
      c.process!.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
    });
    const id = rt.track(uniqueId());
    rt.ok(['run', '-d', '--bundle', b.dir, id]);
    const pid = String(rt.state(id).pid);
    expect(execFileSync('ionice', ['-p', pid], { encoding: 'utf8' }).trim()).toBe('best-effort: prio 6');
    expect(execFileSync('chrt', ['-p', pid], { encoding: 'utf8' })).toMatch(/SCHED_BATCH/);
    expect(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[16]).toBe('5'); // nice
  });

  test('an AppArmor profile or SELinux label on a host without them fails as runc does', () => {
    if (fs.existsSync('/sys/kernel/security/apparmor') || fs.existsSync('/sys/fs/selinux/enforce')) return;
    const aa = run(['true'], (c) => (c.process!.apparmorProfile = 'docker-default'));
    expect(aa.status).toBe(1);
    expect(errorMessage(aa.stderr)).toMatch(/apparmor.*\/proc\/self\/attr\/exec.*invalid argument/i);
    const se = run(['true'], (c) => (c.process!.selinuxLabel = 'system_u:system_r:container_t:s0'));
    expect(se.status).toBe(1);
    expect(errorMessage(se.stderr)).toMatch(/selinux label is specified in config, but selinux is disabled or not supported/);
  });

  (isPeer() ? test.skip : test)('linux.intelRdt is refused clearly on a host without resctrl', () => {
    if (fs.existsSync('/sys/fs/resctrl/schemata')) return;
    const r = run(['true'], (c) => (c.linux!.intelRdt = { closID: 'x', l3CacheSchema: 'L3:0=ff' }));
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/intelRdt.*not supported/);
  });

  test('a new session keyring per container, unless --no-new-keyring', () => {
    const b = setupBundle(['cat', '/proc/keys']);
    b.update((c) => (c.linux!.maskedPaths = c.linux!.maskedPaths!.filter((m) => m !== '/proc/keys')));
    const own = rt.track(uniqueId());
    expect(rt.ok(['run', '--bundle', b.dir, own]).stdout).toContain(`keyring   _ses.${own}:`);
    const inherited = rt.track(uniqueId());
    expect(rt.ok(['run', '--no-new-keyring', '--bundle', b.dir, inherited]).stdout).not.toContain(`_ses.${inherited}`);
  });
});

/** A user made for the test, removed after it. */
function withTestUser(): { name: string; uid: number; gid: number } {
  const name = `berth${process.pid % 100000}`;
  spawnSync('userdel', [name]);
  execFileSync('useradd', ['-M', '-s', '/bin/sh', name]);
  track.add(() => spawnSync('userdel', [name]));
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
  return { name, uid, gid };
}

describeIf(requires('root', 'userns'))('rootless', () => {
  afterEach(cleanupAll);

  test('an unprivileged user runs a rootless container: root inside is the user outside', () => {
    const user = withTestUser();
    const b = setupBundle(['sh', '-c', 'id -u; cat /proc/self/uid_map; echo hi > /tmp/made']);
    fs.rmSync(path.join(b.dir, 'config.json'));
    execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, b.dir]);
    const as = (args: string[]) => spawnSync('runuser', ['-u', user.name, '--', runtimeBinary(), ...args], { encoding: 'utf8', cwd: b.dir, timeout: 60_000 });
    expect(as(['spec', '--rootless']).status).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(b.dir, 'config.json'), 'utf8'));
    cfg.process.terminal = false;
    cfg.process.args = b.config.process!.args;
    cfg.root.readonly = false;
    fs.writeFileSync(path.join(b.dir, 'config.json'), JSON.stringify(cfg));
    const root = path.join(b.dir, 'state');
    const r = as(['--root', root, 'run', '--bundle', b.dir, 'rootless-test']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('0');
    expect(r.stdout.split('\n')[1].trim().split(/\s+/)).toEqual(['0', String(user.uid), '1']);
    expect(fs.statSync(path.join(b.rootfs, 'tmp/made')).uid).toBe(user.uid);
    expect(fs.readdirSync(root)).toEqual([]);
  });
});
