import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lastRuntimeError, RuncCli, RuntimeError } from './runtime-client';

describe('runtime client', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rc-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('takes the last error message of a logrus JSON log', () => {
    const log = path.join(dir, 'log.json');
    fs.writeFileSync(log, [
      JSON.stringify({ level: 'warning', msg: 'w', time: 't' }),
      JSON.stringify({ level: 'error', msg: 'first ', time: 't' }),
      '{"level":"error","msg":"torn',
      JSON.stringify({ level: 'error', msg: ' container does not exist ', time: 't' }),
      JSON.stringify({ level: 'info', msg: 'i', time: 't' }),
    ].join('\n'));
    expect(lastRuntimeError(log)).toBe('container does not exist');
    expect(lastRuntimeError(path.join(dir, 'none'))).toBe('');
  });

  // The CLI driver against a stand-in runtime that records its arguments.
  function fakeRuntime(script: string): RuncCli {
    const bin = path.join(dir, 'fake-runc');
    fs.writeFileSync(bin, `#!/bin/sh\necho "$@" >> ${dir}/args\n${script}\n`, { mode: 0o755 });
    return new RuncCli({ binary: bin, root: '/run/r/ns', log: path.join(dir, 'log.json'), systemdCgroup: true, tmpDir: dir });
  }

  it('passes go-runc\'s global and command arguments', async () => {
    const rt = fakeRuntime('exit 0');
    await rt.create('c1', { bundle: '/b', pidFile: '/b/init.pid', consoleSocket: '/s.sock', noPivot: true });
    await rt.kill('c1', 9, { all: true });
    await rt.delete('c1', { force: true });
    const lines = fs.readFileSync(path.join(dir, 'args'), 'utf8').trim().split('\n');
    const g = `--root /run/r/ns --log ${dir}/log.json --log-format json --systemd-cgroup`;
    expect(lines).toEqual([
      `${g} create --bundle /b --pid-file /b/init.pid --console-socket /s.sock --no-pivot c1`,
      `${g} kill --all c1 9`,
      `${g} delete --force c1`,
    ]);
  });

  it('reports a failure with the runtime\'s logged error', async () => {
    const rt = fakeRuntime(`echo '{"level":"error","msg":"container does not exist","time":"t"}' >> ${dir}/log.json; echo oops >&2; exit 1`);
    const err = await rt.start('c1').catch((e: unknown) => e) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe('container does not exist');
    expect(err.exitStatus).toBe(1);
    expect(err.output).toContain('oops');
  });

  it('parses state and ps output', async () => {
    const rt = fakeRuntime(`case "$8" in state) echo '{"id":"c1","pid":42,"status":"running"}';; ps) echo '[1,2,3]';; esac`);
    expect(await rt.state('c1')).toMatchObject({ id: 'c1', pid: 42, status: 'running' });
    expect(await rt.ps('c1')).toEqual([1, 2, 3]);
  });
});
