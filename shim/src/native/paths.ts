/**
 * Where the shim finds its native helper, dist/berth-nsexec: $BERTH_NSEXEC,
 * else next to the bundle (dist/containerd-shim-berth-v2.js), else the
 * source tree's dist/ (tests running the TypeScript directly).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

export function nsexecPath(): string {
  if (cached) return cached;
  const candidates = [
    process.env.BERTH_NSEXEC,
    path.join(__dirname, 'berth-nsexec'),
    path.resolve(__dirname, '..', '..', '..', 'dist', 'berth-nsexec'),
  ];
  for (const c of candidates) {
    if (c && fs.existsSync(c)) return (cached = c);
  }
  throw new Error(`cannot find berth-nsexec (looked in ${candidates.filter(Boolean).join(', ')}); run \`make native\``);
}

/** Where the reaper puts the ttrpc listener and the control channel in the server (containerd's shim uses fd 3 too). */
export const LISTEN_FD = 3;
export const CTL_FD = 4;
