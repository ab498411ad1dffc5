/**
 * The shim's launcher (dist/bin/containerd-shim-berth-v2, written by
 * scripts/build.mjs): `start` and `delete` run from the V8 start-up snapshot
 * (shim/src/snapshot.ts) with the server's flags, fall back to the plain
 * bundle, and drop containerd's NODE_EXTRA_CA_CERTS; the server starts from
 * the same snapshot unless its flags differ (start.ts serverCommand).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { serverCommand, NODE_FLAGS, useSnapshot } from '../../shim/src/start';
import { DIST, ensureBuilt } from './helpers/containerd';

const LAUNCHER = path.join(DIST, 'bin', 'containerd-shim-berth-v2');
const BLOB = path.join(DIST, 'containerd-shim-berth-v2.blob');

/** Runs the launcher under `sh -x`, which traces the node command it execs. */
function traced(env: NodeJS.ProcessEnv): { stdout: string; exec: string; stderr: string } {
  const r = spawnSync('sh', ['-x', LAUNCHER, '-v'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(r.status).toBe(0);
  const lines = r.stderr.split('\n');
  return {
    stdout: r.stdout,
    exec: lines.find((l) => l.startsWith('+ exec ')) ?? '',
    stderr: lines.filter((l) => !l.startsWith('+ ') && l !== '').join('\n'),
  };
}

describe('shim launcher', () => {
  beforeAll(() => ensureBuilt());

  it('runs from the start-up snapshot, with the server flags, and without extra CA certificates', () => {
    expect(fs.existsSync(BLOB)).toBe(true);
    // A missing certificate file makes node warn on stderr if it reads the variable at all.
    const r = traced({ NODE_EXTRA_CA_CERTS: '/nonexistent/berth-ca.pem', BERTH_NO_SNAPSHOT: '' });
    expect(r.exec).toContain(`--snapshot-blob ${BLOB} ${LAUNCHER} -v`);
    for (const f of NODE_FLAGS) expect(r.exec).toContain(f);
    expect(r.stdout).toMatch(/^containerd-shim-berth-v2:\n {2}Version: {2}\S+/);
    expect(r.stderr).toBe(''); // no certificate warning, no --jitless warning
  });

  it('falls back to the plain bundle with the same output', () => {
    const snap = traced({ BERTH_NO_SNAPSHOT: '' });
    const plain = traced({ BERTH_NO_SNAPSHOT: '1', NODE_EXTRA_CA_CERTS: '/nonexistent/berth-ca.pem' });
    expect(plain.exec).not.toContain('--snapshot-blob');
    expect(plain.exec).toContain(path.join(DIST, 'containerd-shim-berth-v2.js'));
    expect(plain.stdout).toBe(snap.stdout);
    expect(plain.stderr).toBe('');
  });

  it('starts the server from the snapshot when this process runs from it with the same flags, else from the bundle', () => {
    const argv1 = process.argv[1];
    const bundle = path.join(DIST, 'containerd-shim-berth-v2.js');
    try {
      process.argv[1] = '/somewhere/containerd-shim-berth-v2.js'; // the plain bundle: itself
      expect(serverCommand(NODE_FLAGS, ['-namespace', 'ns'])).toEqual([process.execPath, ...NODE_FLAGS, '/somewhere/containerd-shim-berth-v2.js', '-namespace', 'ns']);
      process.argv[1] = LAUNCHER; // what argv[1] is under the snapshot
      useSnapshot(BLOB);
      expect(serverCommand(NODE_FLAGS, ['-namespace', 'ns'])).toEqual([process.execPath, ...NODE_FLAGS, '--snapshot-blob', BLOB, LAUNCHER, '-namespace', 'ns']);
      // other flags (BERTH_SHIM_NODE_FLAGS) cannot use the snapshot: the bundle beside berth-nsexec
      expect(serverCommand(['--jitless'], [])).toEqual([process.execPath, '--jitless', bundle]);
    } finally {
      process.argv[1] = argv1;
    }
    // and both entries run
    expect(execFileSync(process.execPath, [...NODE_FLAGS, bundle, '-v'], { encoding: 'utf8' })).toContain('Version:');
    expect(execFileSync(process.execPath, [...NODE_FLAGS, '--snapshot-blob', BLOB, LAUNCHER, '-v'], { encoding: 'utf8' })).toContain('Version:');
  });
});
