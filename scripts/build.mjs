// Bundles each binary into one file under dist/ (one file loads much faster
// than a tree of modules), copies the .proto files next to them, and builds
// the runtime's V8 start-up snapshot.
//
//   node scripts/build.mjs
//
// An entry whose source does not exist yet is skipped, so packages can land
// one at a time.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');

/** name → entry; `snapshot` marks binaries whose start-up time matters. */
const entries = [
  // winston and yargs stay out of the runtime's bundle: they load only when
  // something is logged, or when a command line needs more than the fast parser.
  {
    name: 'berth-runtime',
    entry: 'runtime/src/main.ts',
    snapshot: 'runtime/src/snapshot.ts',
    external: ['winston', 'yargs'],
  },
  { name: 'containerd-shim-berth-v2', entry: 'shim/src/main.ts' },
  { name: 'berthd', entry: 'supervisor/src/daemon/main.ts' },
  { name: 'berthctl', entry: 'supervisor/src/ctl/main.ts' },
];

fs.mkdirSync(path.join(dist, 'bin'), { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Native addons cannot be bundled; they load from node_modules.
  external: ['lmdb', 'msgpackr', 'msgpackr-extract', '@lmdb/*', 'cpu-features', 'ssh2'],
};

for (const e of entries) {
  if (!fs.existsSync(path.join(root, e.entry))) continue;
  const out = path.join(dist, `${e.name}.js`);
  const external = [...common.external, ...(e.external ?? [])];
  await build({ ...common, external, entryPoints: [path.join(root, e.entry)], outfile: out, banner: { js: '#!/usr/bin/env node' } });
  fs.chmodSync(out, 0o755);
  let launcher = `#!/bin/sh\nexec node "${out}" "$@"\n`;
  if (e.snapshot && fs.existsSync(path.join(root, e.snapshot))) {
    // A start-up snapshot holds the heap after every module has loaded, so the
    // binary skips parsing and initialising its dependencies (yargs alone costs
    // ~20 ms). The blob is tied to this exact node binary and these V8 flags, so
    // it is rebuilt on every build, and the launcher falls back to the plain
    // bundle without it. (V8 flags such as --jitless were measured and bring
    // nothing here; `snapshotFlags` would have to be the same at build and run.)
    const flags = e.snapshotFlags ?? [];
    const snapJs = path.join(dist, `${e.name}.snapshot.js`);
    const blob = path.join(dist, `${e.name}.blob`);
    await build({ ...common, external, sourcemap: false, entryPoints: [path.join(root, e.snapshot)], outfile: snapJs });
    fs.rmSync(blob, { force: true });
    execFileSync(process.execPath, [...flags, '--snapshot-blob', blob, '--build-snapshot', snapJs], { stdio: ['ignore', 'inherit', 'pipe'], cwd: dist });
    launcher =
      `#!/bin/sh\n` +
      `# ${e.name}: starts from the V8 snapshot built for ${process.execPath} ${process.version}.\n` +
      `# It makes no TLS connections: extra CA certificates would only cost start-up time\n` +
      `# (~55 ms where NODE_EXTRA_CA_CERTS is set), and NODE_OPTIONS could break the snapshot.\n` +
      `unset NODE_EXTRA_CA_CERTS NODE_OPTIONS\n` +
      `if [ -z "\${BERTH_NO_SNAPSHOT:-}" ] && [ -f "${blob}" ]; then\n` +
      `  exec "${process.execPath}" ${flags.join(' ')} --snapshot-blob "${blob}" "$0" "$@"\n` +
      `fi\n` +
      `exec "${process.execPath}" ${flags.join(' ')} "${out}" "$@"\n`;
  }
  const bin = path.join(dist, 'bin', e.name);
  fs.writeFileSync(bin, launcher, { mode: 0o755 });
}

// The .proto files, for the bundles' loader (proto/src/loader.ts).
fs.rmSync(path.join(dist, 'proto'), { recursive: true, force: true });
fs.cpSync(path.join(root, 'proto'), path.join(dist, 'proto'), {
  recursive: true,
  filter: (src) => fs.statSync(src).isDirectory() || src.endsWith('.proto'),
});
