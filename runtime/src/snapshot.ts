/**
 * Entry point used to build berth-runtime's V8 start-up snapshot
 * (scripts/build.mjs): every module is loaded and the config schema compiled
 * while the snapshot is made, so a real run starts with all of that done.
 * Nothing here may depend on the run's environment (argv, env, cwd): that is
 * read in main(), after deserialisation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { detectHost } from './cgroups';
import { main } from './main';
import { buildCreatePlan } from './plan/create-plan';
import { encodePlan } from './process/plan';
import { loadSpec } from './spec/load';
import { schemaErrors } from './spec/schema';
import { defaultSpec } from './spec/default';

// Warm-ups: run the hot code once so that the snapshot holds it compiled
// (measured: the schema validator, yargs' set-up and the plan builder each
// cost 10-20 ms when cold). Nothing they cache may outlive the warm-up.
schemaErrors(defaultSpec());
warmCreatePlan();
// Every command is parsed once, against a root and bundle that do not exist,
// so each fails at once without touching anything.
const out = process.stdout.write;
const err = process.stderr.write;
process.stdout.write = () => true;
process.stderr.write = () => true;
const nowhere = '/nonexistent/berth-snapshot-warmup';
const warmups = [
  ['features'],
  ['--root', nowhere, 'list'],
  ['--root', nowhere, 'state', 'x'],
  ['--root', nowhere, 'create', '--bundle', nowhere, '--pid-file', `${nowhere}/pid`, 'x'],
  ['--root', nowhere, '--log', `${nowhere}/log`, '--log-format', 'json', 'start', 'x'],
  ['--root', nowhere, 'run', '--bundle', nowhere, 'x'],
  ['--root', nowhere, 'kill', 'x', 'KILL'],
  ['--root', nowhere, 'delete', '--force', 'x'],
  ['--root', nowhere, 'exec', '--cwd', '/', 'x', 'sh', '-c', 'true'],
  ['--root', nowhere, 'ps', '--format', 'json', 'x'],
  ['--root', nowhere, 'events', '--stats', 'x'],
  ['--root', nowhere, 'update', '--memory', '1g', 'x'],
  ['--root', nowhere, 'pause', 'x'],
];
void warmups
  .reduce((p, args) => p.then(() => main(args)).then(() => undefined), Promise.resolve())
  .finally(() => {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = 0;
  });

/** Builds and encodes a create plan for a default bundle in a throw-away dir. */
function warmCreatePlan(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-snapshot-'));
  try {
    fs.mkdirSync(path.join(dir, 'rootfs/bin'), { recursive: true });
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.mounts!.push({ destination: '/data', type: 'bind', source: dir, options: ['rbind', 'ro'] });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
    const loaded = loadSpec(dir);
    const host = detectHost();
    const plan = buildCreatePlan({
      id: 'warmup',
      spec: loaded.spec,
      bundle: loaded.bundle,
      rootfs: loaded.rootfs,
      fifoPath: path.join(dir, 'exec.fifo'),
      noPivot: false,
      noNewKeyring: false,
      preserveFds: 0,
      cgroupPaths: { memory: '/sys/fs/cgroup/memory/berth-snapshot-warmup' },
      cgroupHost: host,
      waitForInit: false,
      rootless: false,
    });
    encodePlan(plan);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // argv is [node, <launcher path>, ...args] (the launcher passes its own path first).
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${(err as Error)?.stack ?? err}\n`);
      process.exit(1);
    },
  );
});
