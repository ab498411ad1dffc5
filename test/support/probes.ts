/**
 * Tiny C probes for what busybox cannot tell (here: receiving a pty master
 * over a console socket). Compiled on first use with the machine's cc into
 * dist/test-probes/, which `make build` keeps out of git.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './repo';

const repo = repoRoot();

export function probe(name: 'recvtty'): string {
  const src = path.join(__dirname, `${name}.c`);
  const out = path.join(repo, 'dist/test-probes', name);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-o', `${out}.tmp`, src]);
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}
