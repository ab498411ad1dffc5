/**
 * The container's process: args, env, cwd, user and groups, umask, rlimits,
 * capabilities, no_new_privs, oom_score_adj — read back from /proc inside.
 */
import { setupBundle, stateRoot, uniqueId } from '../support/bundle';
import { cleanupAll } from '../support/cleanup';
import { describeIf, requires } from '../support/requires';
import { errorMessage, Runtime } from '../support/runtime';

describeIf(requires('root'))('process', () => {
  let rt: Runtime;
  beforeEach(() => {
    rt = new Runtime(stateRoot());
  });
  afterEach(cleanupAll);

  const runIn = (args: string[], change: Parameters<ReturnType<typeof setupBundle>['update']>[0]) => {
    const b = setupBundle(args);
    b.update(change);
    return rt.run(['run', '--bundle', b.dir, rt.track(uniqueId())]);
  };

  test('args, env and cwd (created when missing)', () => {
    const r = runIn(['sh', '-c', 'echo "$1|$FOO|$(pwd)"', 'sh', 'an arg with spaces'], (c) => {
      c.process!.env!.push('FOO=bar baz');
      c.process!.cwd = '/work/dir';
    });
    expect(r.stdout).toBe('an arg with spaces|bar baz|/work/dir\n');
  });

  test('user, group, additional groups and umask', () => {
    const r = runIn(['sh', '-c', 'id; umask'], (c) => {
      c.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o077 };
    });
    expect(r.stdout).toBe('uid=1000(test) gid=1000(test) groups=5(tty),65534(nogroup)\n0077\n');
  });

  test('rlimits are applied; raising a hard limit needs CAP_SYS_RESOURCE', () => {
    const r = runIn(['sh', '-c', 'grep -E "Max (open files|processes)" /proc/self/limits'], (c) => {
      c.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 512, hard: 768 },
        { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
      ];
    });
    expect(r.stdout).toMatch(/Max processes\s+100\s+200/);
    expect(r.stdout).toMatch(/Max open files\s+512\s+768/);
  });

  test('capabilities: the five sets as configured', () => {
    const r = runIn(['sh', '-c', 'grep ^Cap /proc/self/status'], (c) => {
      c.process!.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'],
        effective: ['CAP_CHOWN', 'CAP_KILL'],
        permitted: ['CAP_CHOWN', 'CAP_KILL'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_KILL'],
      };
    });
    // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_RAW=13
    expect(r.stdout).toBe(
      'CapInh:\t0000000000000020\nCapPrm:\t0000000000000021\nCapEff:\t0000000000000021\nCapBnd:\t0000000000002021\nCapAmb:\t0000000000000020\n',
    );
  });

  test('a non-root process keeps a capability across exec only through the ambient set', () => {
    const all = ['CAP_NET_BIND_SERVICE'];
    const kept = runIn(['sh', '-c', 'id -u; grep ^CapEff /proc/self/status'], (c) => {
      c.process!.user = { uid: 1000, gid: 1000 };
      c.process!.capabilities = { bounding: all, effective: all, permitted: all, inheritable: all, ambient: all };
    });
    expect(kept.stdout).toBe('1000\nCapEff:\t0000000000000400\n');
    const lost = runIn(['sh', '-c', 'grep ^CapEff /proc/self/status'], (c) => {
      c.process!.user = { uid: 1000, gid: 1000 };
      c.process!.capabilities = { bounding: all, effective: all, permitted: all };
    });
    expect(lost.stdout).toBe('CapEff:\t0000000000000000\n');
  });

  test('noNewPrivileges and oomScoreAdj', () => {
    const r = runIn(['sh', '-c', 'grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj'], (c) => {
      c.process!.noNewPrivileges = true;
      c.process!.oomScoreAdj = 500;
    });
    expect(r.stdout).toBe('NoNewPrivs:\t1\n500\n');
    const off = runIn(['sh', '-c', 'grep NoNewPrivs /proc/self/status'], (c) => (c.process!.noNewPrivileges = false));
    expect(off.stdout).toBe('NoNewPrivs:\t0\n');
  });

  test('an executable that is not there is reported at create, as runc does', () => {
    const b = setupBundle(['no-such-binary']);
    const id = uniqueId();
    const r = rt.run(['create', '--bundle', b.dir, rt.track(id)]);
    expect(r.status).toBe(1);
    expect(errorMessage(r.stderr)).toMatch(/exec: "no-such-binary": executable file not found in \$PATH/);
    expect(rt.run(['state', id]).status).toBe(1);
  });

  test('--preserve-fds passes the caller\'s extra fds to the container', () => {
    const b = setupBundle(['sh', '-c', 'echo through-fd-3 >&3']);
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const file = path.join(b.dir, 'fd3');
    const fd = fs.openSync(file, 'w');
    try {
      rt.ok(['run', '--preserve-fds', '1', '--bundle', b.dir, rt.track(uniqueId())], { stdio: ['ignore', 'ignore', 'ignore', fd] } as never);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('through-fd-3\n');
  });
});
