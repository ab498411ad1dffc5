/**
 * `ctr run --runtime io.containerd.berth.v2` end to end: output, exit codes,
 * stdin, real pipes as stdio, large output, file:// and binary:// logging.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BERTH, describeE2E, eventually, IMAGE_REF, RUNTIME, taskStatus, useContainerd } from './helpers/setup';

describeE2E('shim: ctr run', () => {
  const env = useContainerd();

  it('prints the output and returns the exit code', async () => {
    const r = await env.c.ctr(['run', '--rm', ...BERTH, IMAGE_REF, 'run-exit', 'sh', '-c', 'echo hello; echo oops >&2; exit 7']);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toContain('oops');
    expect(r.code).toBe(7);
  });

  it('reports death by a signal as 128+n', async () => {
    const run = env.c.ctr(['run', '--rm', ...BERTH, IMAGE_REF, 'run-sig', 'sleep', '1000']);
    await eventually(async () => (await taskStatus(env.c, 'run-sig')) === 'RUNNING', 10_000, 'run-sig to run');
    await env.c.ctrOk(['tasks', 'kill', '-s', 'SIGKILL', 'run-sig']);
    expect((await run).code).toBe(137);
  });

  it('passes stdin through and closes it at EOF', async () => {
    const r = await env.c.ctr(['run', '--rm', ...BERTH, IMAGE_REF, 'run-stdin', 'sh', '-c', 'cat; echo done'], { input: 'line one\nline two\n', inputEndMs: 4000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('line one\nline two\ndone\n');
  });

  it('gives the container real pipes as stdio', async () => {
    const r = await env.c.ctr(['run', '--rm', ...BERTH, IMAGE_REF, 'run-pipe', 'sh', '-c',
      'echo via-dev > /dev/stdout; readlink /proc/self/fd/1; readlink /proc/self/fd/2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('via-dev');
    expect(lines[1]).toMatch(/^pipe:\[\d+\]$/);
    expect(lines[2]).toMatch(/^pipe:\[\d+\]$/);
  });

  it('copies large output completely', async () => {
    // The pause after the output is for ctr 1.6: at delete it closes its
    // FIFOs before reading them to the end (containerd#8643, fixed in 1.7)
    // and loses up to a FIFO's worth of the tail when it is behind — under
    // load, with containerd's own shim too. The shim's side (all output in
    // the FIFO and its end closed before Wait returns) is test/shim/direct's.
    const r = await env.c.ctr(['run', '--rm', ...BERTH, IMAGE_REF, 'run-big', 'sh', '-c', 'head -c 3000000 /dev/zero | tr "\\000" a; sleep 1']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(3_000_000);
    expect(/^a+$/.test(r.stdout)).toBe(true);
  });

  it('appends to a file:// log', async () => {
    const file = path.join(env.c.dir, 'logs', 'run-file.log');
    const r = await env.c.ctr(['run', '--rm', ...BERTH, '--log-uri', `file://${file}`, IMAGE_REF, 'run-file', 'sh', '-c', 'echo to-file; echo err-to-file >&2']);
    expect(r.code).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('to-file\n');
    expect(text).toContain('err-to-file\n');
  });

  it('feeds a binary:// logger', async () => {
    const out = path.join(env.c.dir, 'binlog');
    const logger = path.join(env.c.dir, 'logger.sh');
    fs.writeFileSync(logger, [
      '#!/bin/sh',
      '# fd 3: stdout, fd 4: stderr, fd 5: closed when ready (before the cats inherit it)',
      'echo "$CONTAINER_NAMESPACE/$CONTAINER_ID" > "$2.env"',
      'exec 5>&-',
      '/bin/cat <&3 > "$2.out" &',
      '/bin/cat <&4 > "$2.err" &',
      'wait',
    ].join('\n'), { mode: 0o755 });
    const r = await env.c.ctr(['run', '--rm', ...BERTH, '--log-uri', `binary://${logger}?path=${out}`, IMAGE_REF, 'run-bin', 'sh', '-c', 'echo to-logger; echo err-logger >&2']);
    expect(r.code).toBe(0);
    await eventually(() => fs.existsSync(`${out}.out`) && fs.readFileSync(`${out}.out`, 'utf8') !== '', 5000, 'the logger');
    expect(fs.readFileSync(`${out}.out`, 'utf8')).toBe('to-logger\n');
    expect(fs.readFileSync(`${out}.err`, 'utf8')).toBe('err-logger\n');
    expect(fs.readFileSync(`${out}.env`, 'utf8')).toBe('default/run-bin\n');
  });

  it('takes the runtime from --runtime-config-path (runtimeoptions TOML)', async () => {
    if (RUNTIME !== 'io.containerd.berth.v2') return; // runc's shim reads a different options type
    const cfg = path.join(env.c.dir, 'berth-runtime.toml');
    const wrapper = path.join(env.c.dir, 'runc-wrapper.sh');
    const marker = path.join(env.c.dir, 'wrapper-used');
    fs.writeFileSync(wrapper, `#!/bin/sh\ntouch ${marker}\nexec /usr/sbin/runc "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(cfg, `# runc options for the berth shim\nBinaryName = "${wrapper}"\n`);
    const r = await env.c.ctr(['run', '--rm', ...BERTH, '--runtime-config-path', cfg, IMAGE_REF, 'run-cfg', 'echo', 'via-wrapper']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('via-wrapper\n');
    expect(fs.existsSync(marker)).toBe(true);
  });
});
