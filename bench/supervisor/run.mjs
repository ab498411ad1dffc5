// Bundles a supervisor benchmark with esbuild and runs it:
//   node bench/supervisor/run.mjs [images]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const name = process.argv[2] ?? 'images';
const out = path.join(here, '..', '..', 'dist', `bench-supervisor-${name}.js`);
await build({
  entryPoints: [path.join(here, `${name}.bench.ts`)],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  external: ['lmdb', 'msgpackr', 'msgpackr-extract', '@lmdb/*'],
});
// the bundle lives in dist/: point its __dirname-relative paths back at the tree
execFileSync(process.execPath, [out], { stdio: 'inherit', env: { ...process.env } });
