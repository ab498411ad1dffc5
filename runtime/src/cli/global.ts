/** The global flags every command sees (runc's app flags). */
export interface GlobalArgs {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
  'global-rootless'?: string;
  criu?: string;
}

import * as os from 'node:os';
import * as path from 'node:path';

/** runc's default --root: /run/runc for root, $XDG_RUNTIME_DIR/runc otherwise. */
export function defaultRoot(): string {
  if (process.geteuid?.() === 0) return '/run/berth-runtime';
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, 'berth-runtime') : path.join(os.tmpdir(), `berth-runtime-${process.geteuid?.()}`);
}
