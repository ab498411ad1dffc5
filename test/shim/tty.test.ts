/**
 * `ctr run -t` / `ctr tasks exec -t` through the berth shim: the pty master
 * comes from the runtime over the console socket to the native reaper, which
 * relays it; size at start, resize (SIGWINCH → ResizePty), input and exit codes.
 * ctr needs a terminal itself: helpers/pty-run.py gives it one.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { BERTH, describeE2E, eventually, IMAGE_REF, taskStatus, useContainerd } from './helpers/setup';
import type { PrivateContainerd } from './helpers/containerd';

const PTY_RUN = path.join(__dirname, 'helpers', 'pty-run.py');

function onPty(c: PrivateContainerd, rows: number, cols: number, args: string[], opts: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('python3', [PTY_RUN, ...opts, String(rows), String(cols), '--', 'ctr', '--address', c.address, ...args],
      { env: c.env, timeout: 60_000 }, (err, stdout) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, out: stdout.replace(/\r/g, '') });
      });
  });
}

describeE2E('shim: terminals', () => {
  const env = useContainerd();

  it('gives the container a pty of the caller\'s size and returns the exit code', async () => {
    const r = await onPty(env.c, 33, 97, ['run', '--rm', '-t', ...BERTH, IMAGE_REF, 'tty-size', 'sh', '-c', 'tty; sleep 1; stty size; exit 5']);
    // (ctr sends the caller's size with ResizePty just after Start: hence the sleep, with any shim)
    expect(r.out).toMatch(/\/dev\/pts\/\d+\n/);
    expect(r.out).toContain('33 97\n');
    expect(r.code).toBe(5);
  });

  it('carries keyboard input to the container', async () => {
    const r = await onPty(env.c, 24, 80, ['run', '--rm', '-t', ...BERTH, IMAGE_REF, 'tty-input', 'sh'],
      ['--input', 'echo typed-$((6*7))\nexit 3\n', '--input-after', '2.5']);
    expect(r.out).toContain('typed-42');
    expect(r.code).toBe(3);
  });

  it('resizes the pty when the caller\'s terminal changes', async () => {
    const r = await onPty(env.c, 24, 80, ['run', '--rm', '-t', ...BERTH, IMAGE_REF, 'tty-resize', 'sh', '-c', 'sleep 1; stty size; sleep 4; stty size'],
      ['--resize', '50', '132', '--resize-after', '3.5']);
    expect(r.out).toContain('24 80\n');
    expect(r.out).toContain('50 132\n');
    expect(r.code).toBe(0);
  });

  it('runs an exec process on its own pty', async () => {
    await env.c.ctrOk(['run', '-d', ...BERTH, IMAGE_REF, 'tty-exec', 'sleep', '100000']);
    await eventually(async () => (await taskStatus(env.c, 'tty-exec')) === 'RUNNING', 10_000, 'running');
    const r = await onPty(env.c, 40, 100, ['tasks', 'exec', '-t', '--exec-id', 'tx', 'tty-exec', 'sh', '-c', 'tty; sleep 1; stty size; exit 6']);
    expect(r.out).toMatch(/\/dev\/pts\/\d+\n/);
    expect(r.out).toContain('40 100\n');
    expect(r.code).toBe(6);
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'tty-exec']);
  });
});
