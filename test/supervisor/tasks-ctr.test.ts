/**
 * The real ctr drives berthd's tasks service, for both runtimes: our shim
 * (io.containerd.berth.v2, over berth-runtime) and containerd's own
 * (io.containerd.runc.v2, over runc), with `ctr run --rootfs` (no snapshot):
 * output and exit status, exec, ps, metrics, pause/resume, kill, delete, a
 * terminal, and the task events on `ctr events`; and `ctr run IMAGE` of an
 * imported (unpacked) image, whose rootfs is an overlayfs snapshot.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchCtrEvents } from '../support/ctr-events';
import { makeBusyboxLayout, tarLayout } from './support/image';
import { describeTasks, parseTaskList, RUNTIMES, startTaskEnv, waitFor, type TaskEnv } from './support/tasks';

let t: TaskEnv;
beforeAll(async () => {
  t = await startTaskEnv();
}, 60_000);
afterAll(async () => {
  await t?.cleanup();
});

describeTasks('ctr against berthd', () => {
  describe.each(RUNTIMES)('%s', (runtime) => {
    const short = runtime.split('.')[2]; // berth | runc

    test('ctr images import, then ctr run IMAGE: the rootfs is the image\'s snapshot, writable, removed with --rm', async () => {
      const work = fs.mkdtempSync(path.join(t.dir, 'image-'));
      const archive = await tarLayout((await makeBusyboxLayout(work)).dir, path.join(work, 'busybox.tar'));
      await t.ctrOk(['images', 'import', '--base-name', 'example.com/busybox', archive]);
      const id = `${short}-img`;
      const r = await t.ctr(['run', '--rm', '--runtime', runtime, 'example.com/busybox:latest', id, '/bin/sh', '-c', 'cat /hello.txt; echo w > /new; cat /new; exit 6']);
      expect(r).toMatchObject({ code: 6, stdout: 'hello from berth\nw\n' });
      // the write went to the container's snapshot, which --rm removed; the image is untouched
      expect(await t.ctrOk(['snapshots', 'ls'])).not.toMatch(new RegExp(`^${id}\\s`, 'm'));
      const again = await t.ctr(['run', '--rm', '--runtime', runtime, 'example.com/busybox:latest', id, '/bin/sh', '-c', 'test -e /new || echo clean']);
      expect(again).toMatchObject({ code: 0, stdout: 'clean\n' });
      await t.ctrOk(['images', 'rm', '--sync', 'example.com/busybox:latest']);
    });

    const run = (id: string, ...args: string[]) => ['run', '--rootfs', '--runtime', runtime, ...args, t.rootfs, `${short}-${id}`];

    test('run: output, stderr and the exit status', async () => {
      const r = await t.ctr([...run('out', '--rm'), '/bin/sh', '-c', 'echo hello from pid $$; echo to-stderr >&2; exit 7']);
      expect(r.stdout).toBe('hello from pid 1\n');
      expect(r.stderr).toContain('to-stderr');
      expect(r.code).toBe(7);
      const ok = await t.ctr([...run('ok', '--rm'), '/bin/true']);
      expect(ok.code).toBe(0);
      // --rm took the container and its task; nothing is left of the bundle
      expect(await t.ctrOk(['containers', 'ls', '-q'])).not.toMatch(new RegExp(`${short}-(out|ok)`));
      expect(fs.existsSync(t.bundle(`${short}-out`))).toBe(false);
    });

    test('stdin reaches the process and its end closes it', async () => {
      const r = await t.ctr([...run('cat', '--rm'), '/bin/sh', '-c', 'cat; echo eof'], { input: 'piped line\n', inputEndMs: 1500 });
      expect(r.stdout).toBe('piped line\neof\n');
      expect(r.code).toBe(0);
    });

    test('run -d, then exec, ps, metrics, pause/resume, kill and delete', async () => {
      const id = `${short}-bg`;
      await t.ctrOk([...run('bg', '-d'), '/bin/sleep', '1000']);
      let tasks = parseTaskList(await t.ctrOk(['tasks', 'ls']));
      expect(tasks[id].status).toBe('RUNNING');
      const pid = tasks[id].pid;
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toBe('/bin/sleep\u00001000\u0000');

      const ex = await t.ctr(['tasks', 'exec', '--exec-id', 'e1', id, '/bin/sh', '-c', 'echo in-exec; exit 5']);
      expect(ex).toMatchObject({ code: 5, stdout: 'in-exec\n' });

      // a long exec shows in ps with its exec id
      const long = spawn('ctr', ['--address', t.daemon.address, '--namespace', t.ns, 'tasks', 'exec', '--exec-id', 'e2', id, '/bin/sleep', '30'], { env: t.env, stdio: 'ignore' });
      try {
        let ps = '';
        await waitFor('the exec in ps', async () => /\be2\b/.test((ps = await t.ctrOk(['tasks', 'ps', id]))));
        expect(ps).toMatch(new RegExp(`^${pid}\\s+-`, 'm'));
        await t.ctrOk(['tasks', 'kill', '--exec-id', 'e2', '--signal', 'SIGKILL', id]);
        await new Promise((r) => long.once('exit', r));
      } finally {
        long.kill('SIGKILL');
      }

      const metrics = await t.ctrOk(['tasks', 'metrics', id]);
      expect(metrics).toMatch(/memory\.usage_in_bytes\s+\d+|memory\.usage\s+\d+/);

      await t.ctrOk(['tasks', 'pause', id]);
      expect(parseTaskList(await t.ctrOk(['tasks', 'ls']))[id].status).toBe('PAUSED');
      expect(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) [DS] /); // frozen, not stopped
      await t.ctrOk(['tasks', 'resume', id]);
      expect(parseTaskList(await t.ctrOk(['tasks', 'ls']))[id].status).toBe('RUNNING');

      // a running task cannot be deleted (ctr checks first, as with containerd)
      expect((await t.ctr(['tasks', 'rm', id])).stderr).toMatch(/must be stopped/);
      await t.ctrOk(['tasks', 'kill', '--signal', 'SIGKILL', id]);
      await waitFor('the task to stop', async () => parseTaskList(await t.ctrOk(['tasks', 'ls']))[id]?.status === 'STOPPED');
      await t.ctrOk(['tasks', 'rm', id]);
      await t.ctrOk(['containers', 'rm', id]);
      tasks = parseTaskList(await t.ctrOk(['tasks', 'ls']));
      expect(tasks[id]).toBeUndefined();
      expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
      expect(fs.existsSync(t.bundle(id))).toBe(false);
    });

    test('-t: the process gets a terminal', async () => {
      const r = await t.pty(['ctr', '--address', t.daemon.address, '--namespace', t.ns, ...run('tty', '--rm', '-t'), '/bin/sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty; exit 4']);
      expect(r.stdout).toMatch(/\/dev\/pts\/\d+/);
      expect(r.stdout).toContain('stdin-is-a-tty');
      expect(r.code).toBe(4);
    });

    test('-t: an interactive shell reads what is typed', async () => {
      const r = await t.pty(['ctr', '--address', t.daemon.address, '--namespace', t.ns, ...run('sh', '--rm', '-t'), '/bin/sh'], { input: 'echo typed-$((6*7))\nexit 9\n', inputAfter: 2 });
      expect(r.stdout).toContain('typed-42');
      expect(r.code).toBe(9);
    });
  });

  test.each(RUNTIMES)('ctr events shows the task events in order (%s)', async (runtime) => {
    const id = `events-${runtime.split('.')[2]}`;
    const ev = await watchCtrEvents(t.daemon.address, t.env);
    try {
      await t.ctrOk(['run', '-d', '--rootfs', '--runtime', runtime, t.rootfs, id, '/bin/sleep', '1000']);
      await t.ctrOk(['tasks', 'exec', '--exec-id', 'x1', id, '/bin/true']);
      await t.ctrOk(['tasks', 'pause', id]);
      await t.ctrOk(['tasks', 'resume', id]);
      await t.ctrOk(['tasks', 'rm', '-f', id]);
      await t.ctrOk(['containers', 'rm', id]);
      await waitFor('the delete event', () => /\/containers\/delete/.test(ev.out()));
      const topics = ev.out().split('\n').filter((l) => l.includes(t.ns)).map((l) => {
        const parts = l.split(/\s+/);
        return parts[parts.indexOf(t.ns) + 1];
      });
      expect(topics).toEqual([
        '/containers/create', '/tasks/create', '/tasks/start',
        '/tasks/exec-added', '/tasks/exec-started', '/tasks/exit',
        '/tasks/paused', '/tasks/resumed',
        '/tasks/exit', '/tasks/delete', '/containers/delete',
      ]);
    } finally {
      ev.stop();
    }
  });
});
