/**
 * Interim cgroup manager: creates, joins and removes the container's cgroup on
 * v1 (every mounted hierarchy) and v2, with no resource limits. The full
 * manager (resources, stats, devices) replaces it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotImplementedError } from '../../../proto/src/errdefs';
import type { LinuxResources } from '../spec/types';
import { log } from '../logging';
import type { CgroupConfig, CgroupManager, CgroupMode, CgroupPaths } from './manager';

const ROOT = '/sys/fs/cgroup';

function hostMode(): CgroupMode {
  if (fs.existsSync(path.join(ROOT, 'cgroup.controllers'))) return 'v2';
  return fs.existsSync(path.join(ROOT, 'unified', 'cgroup.controllers')) ? 'hybrid' : 'v1';
}

/** v1 hierarchies: controller (or name=x) → mountpoint, from /proc/self/mountinfo. */
function v1Mounts(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup') continue;
    const mountpoint = line.split(' ')[4];
    for (const o of superOpts.split(',')) {
      if (o === 'rw' || o === 'ro' || o.startsWith('release_agent') || o === 'clone_children' || o === 'xattr') continue;
      out.set(o, mountpoint);
    }
  }
  return out;
}

export function resolveCgroupPath(cgroupsPath: string | undefined, id: string): string {
  if (cgroupsPath && cgroupsPath.includes(':')) throw new NotImplementedError(`systemd cgroup path ${JSON.stringify(cgroupsPath)}: systemd cgroups are not supported on this host`);
  const p = cgroupsPath || `/${id}`;
  if (p.split('/').includes('..')) throw new InvalidArgumentError(`cgroupsPath ${JSON.stringify(p)} must not contain ".."`);
  return path.posix.resolve('/', p);
}

export class BasicCgroupManager implements CgroupManager {
  readonly mode: CgroupMode;
  private readonly dirs: CgroupPaths;

  constructor(cfg: CgroupConfig | { paths: CgroupPaths }) {
    this.mode = hostMode();
    if ('paths' in cfg) {
      this.dirs = cfg.paths;
      return;
    }
    this.dirs = {};
    if (this.mode === 'v2') {
      this.dirs[''] = path.join(ROOT, cfg.path);
    } else {
      for (const [c, mp] of v1Mounts()) this.dirs[c] = path.join(mp, cfg.path);
    }
  }

  create(): void {
    for (const dir of new Set(Object.values(this.dirs))) {
      fs.mkdirSync(dir, { recursive: true });
      const cpuset = dir.includes('/cpuset/');
      if (cpuset) this.inheritCpuset(dir);
    }
  }

  /** cpuset.cpus/mems start empty in a new v1 cpuset cgroup: copy them down from the parents. */
  private inheritCpuset(dir: string): void {
    const chain: string[] = [];
    for (let d = dir; d.includes('/cpuset/') || d.endsWith('/cpuset'); d = path.dirname(d)) {
      chain.unshift(d);
      if (d.endsWith('/cpuset')) break;
    }
    for (let i = 1; i < chain.length; i++) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const file = path.join(chain[i], f);
        if (fs.readFileSync(file, 'utf8').trim() === '') fs.writeFileSync(file, fs.readFileSync(path.join(chain[i - 1], f)));
      }
    }
  }

  apply(pid: number): void {
    for (const dir of new Set(Object.values(this.dirs))) fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
  }

  set(resources: LinuxResources): void {
    // Interim: limits are not written yet (the full manager does that).
    const asked = Object.entries(resources).filter(([k, v]) => k !== 'devices' && v !== undefined);
    if (asked.length > 0) log.warn('cgroup resources are not applied yet', { resources: asked.map(([k]) => k).join(',') });
  }

  private freezerFile(): string | undefined {
    if (this.dirs['']) return path.join(this.dirs[''], 'cgroup.freeze');
    return this.dirs.freezer ? path.join(this.dirs.freezer, 'freezer.state') : undefined;
  }

  freeze(): void {
    const f = this.freezerFile();
    if (!f) throw new NotImplementedError('no freezer cgroup');
    fs.writeFileSync(f, this.dirs[''] ? '1' : 'FROZEN');
  }

  thaw(): void {
    const f = this.freezerFile();
    if (!f) throw new NotImplementedError('no freezer cgroup');
    fs.writeFileSync(f, this.dirs[''] ? '0' : 'THAWED');
  }

  freezerState(): 'frozen' | 'thawed' | 'unknown' {
    const f = this.freezerFile();
    try {
      if (!f) return 'unknown';
      const v = fs.readFileSync(f, 'utf8').trim();
      return v === '1' || v === 'FROZEN' || v === 'FREEZING' ? 'frozen' : 'thawed';
    } catch {
      return 'unknown';
    }
  }

  pids(): number[] {
    const dir = this.dirs[''] ?? this.dirs.pids ?? this.dirs.memory ?? Object.values(this.dirs)[0];
    const out: number[] = [];
    const walk = (d: string) => {
      try {
        for (const l of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.push(Number(l));
        for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      } catch {
        /* gone */
      }
    };
    if (dir) walk(dir);
    return out;
  }

  destroy(): void {
    for (const dir of new Set(Object.values(this.dirs))) removeTree(dir);
  }

  exists(): boolean {
    return Object.values(this.dirs).some((d) => fs.existsSync(d));
  }

  paths(): CgroupPaths {
    return { ...this.dirs };
  }
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** rmdir children first; EBUSY while the last tasks leave is retried (runc's RemovePaths). */
function removeTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeTree(path.join(dir, e.name));
  for (let delay = 1; ; delay *= 2) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || delay > 512) throw err;
      sleep(delay);
    }
  }
}
