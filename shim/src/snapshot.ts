/**
 * Entry point used to build the shim's V8 start-up snapshot
 * (scripts/build.mjs, as berth-runtime's) for the short-lived commands
 * containerd runs once per container: `start` and `delete` are loaded and
 * the protobuf types resolved while the snapshot is made, so they do not
 * parse the 1 MB bundle each time (~20 ms of each `ctr run`, bench/shim).
 * The long-lived server runs the plain bundle (see serverCommand in
 * start.ts for why). Nothing here may depend on the run's environment
 * (argv, env, cwd, fds): that is read in main(), after deserialisation.
 *
 * The blob is built with the server's V8 flags (node-flags.json) so that the
 * launcher has one set of flags for every action.
 */
import * as v8 from 'node:v8';
import { run } from './main';
import { shimRoot } from './protos';
import './start';
import './delete';

shimRoot();

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // The launcher runs `node FLAGS --snapshot-blob BLOB LAUNCHER ARGS...`:
  // argv is [node, launcher, ...args], as without the snapshot.
  run(process.argv.slice(2));
});
