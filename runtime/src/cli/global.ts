/** The global flags every command sees (runc's app flags). */
export interface GlobalArgs {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
  rootless?: string;
  criu?: string;
}

export const DEFAULT_ROOT = '/run/berth-runtime';
