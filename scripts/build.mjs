// Bundles each binary into one file under dist/ (one file loads much faster
// than a tree of modules), copies the .proto files next to them, and builds
// the V8 start-up snapshots of the runtime and the shim.
//
//   node scripts/build.mjs
//
// An entry whose source does not exist yet is skipped, so packages can land
// one at a time.
//
// Every file is replaced atomically (written beside, then renamed): test
// workers run these binaries while another worker rebuilds, and a launcher
// that found its snapshot blob missing for a moment failed a test.
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
  // The shim's snapshot serves `start`, `delete` and the server (see
  // shim/src/start.ts serverCommand). It is built with the server's V8 flags,
  // so the launcher has one set of flags for every action.
  {
    name: 'containerd-shim-berth-v2',
    entry: 'shim/src/bin.ts',
    snapshot: 'shim/src/snapshot.ts',
    snapshotFlags: JSON.parse(fs.readFileSync(path.join(root, 'shim/src/node-flags.json'), 'utf8')),
  },
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

/** Replaces file with data: a reader sees the old or the new file, never none or half of one. */
function writeAtomic(file, data, mode = 0o644) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/** esbuild, with its output files (bundle, source map) written atomically. */
async function bundle(opts, mode = 0o644) {
  const r = await build({ ...opts, write: false });
  for (const f of r.outputFiles) writeAtomic(f.path, f.contents, f.path.endsWith('.map') ? 0o644 : mode);
}

for (const e of entries) {
  if (!fs.existsSync(path.join(root, e.entry))) continue;
  const out = path.join(dist, `${e.name}.js`);
  const external = [...common.external, ...(e.external ?? [])];
  await bundle({ ...common, external, entryPoints: [path.join(root, e.entry)], outfile: out, banner: { js: '#!/usr/bin/env node' } }, 0o755);
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
    await bundle({ ...common, external, sourcemap: false, entryPoints: [path.join(root, e.snapshot)], outfile: snapJs });
    const tmpBlob = `${blob}.tmp-${process.pid}`;
    execFileSync(process.execPath, [...flags, '--snapshot-blob', tmpBlob, '--build-snapshot', snapJs], { stdio: ['ignore', 'inherit', 'pipe'], cwd: dist });
    fs.renameSync(tmpBlob, blob);
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
  writeAtomic(bin, launcher, 0o755);
}

// The .proto files, for the bundles' loader (proto/src/loader.ts): each one
// replaced atomically, and those no longer in proto/ removed.
const protoOut = path.join(dist, 'proto');
const wanted = new Set();
const copyProtos = (from, to) => {
  for (const d of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, d.name);
    const dst = path.join(to, d.name);
    if (d.isDirectory()) copyProtos(src, dst);
    else if (d.name.endsWith('.proto')) {
      fs.mkdirSync(to, { recursive: true });
      wanted.add(dst);
      writeAtomic(dst, fs.readFileSync(src));
    }
  }
};
copyProtos(path.join(root, 'proto'), protoOut);
const pruneProtos = (dir) => {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) pruneProtos(p);
    else if (!wanted.has(p)) fs.rmSync(p, { force: true });
  }
};
pruneProtos(protoOut);
