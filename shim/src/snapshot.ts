/**
 * Entry point used to build the shim's V8 start-up snapshot
 * (scripts/build.mjs, as berth-runtime's): `start`, `delete` and the server
 * are loaded and the protobuf types resolved while the snapshot is made, so
 * that none of them parses the 1 MB bundle (bench/shim: a container joining
 * a running shim 115 against 146 ms, a new shim 212 against 274; see
 * serverCommand in start.ts for the rest and for the memory it costs).
 * Nothing here may depend on the run's environment (argv, env, cwd, fds):
 * that is read in main(), after deserialisation.
 *
 * The blob is built with the server's V8 flags (node-flags.json), so one
 * blob serves the short-lived commands and the server alike.
 */
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { run } from './main';
import { shimRoot } from './protos';
import { useSnapshot } from './start';
import './delete';
import './serve';

shimRoot();

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // The launcher runs `node FLAGS --snapshot-blob BLOB LAUNCHER ARGS...`:
  // argv is [node, launcher, ...args], as without the snapshot.
  useSnapshot(path.join(__dirname, 'containerd-shim-berth-v2.blob'));
  run(process.argv.slice(2));
});
