/**
 * Entry point used to build berth-runtime's V8 start-up snapshot
 * (scripts/build.mjs): every module is loaded and the config schema compiled
 * while the snapshot is made, so a real run starts with all of that done.
 * Nothing here may depend on the run's environment (argv, env, cwd): that is
 * read in main(), after deserialisation.
 */
import * as v8 from 'node:v8';
import { main } from './main';
import { schemaErrors } from './spec/schema';
import { defaultSpec } from './spec/default';

// Warm-ups: run the hot code once so that the snapshot holds it compiled
// (measured: the schema validator and yargs' set-up cost ~20 ms each when cold).
schemaErrors(defaultSpec());
const write = process.stdout.write;
process.stdout.write = () => true;
void Promise.all([main(['features']), main(['--root', '/nonexistent/berth-snapshot-warmup', 'list'])]).finally(() => {
  process.stdout.write = write;
  process.exitCode = 0;
});

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
