/** The entry of the plain bundle (dist/containerd-shim-berth-v2.js); see main.ts. */
import { run } from './main';

run(process.argv.slice(2));
