/**
 * Namespaces: which to create, which to join by path, and in what order
 * (runc's nsexec: join by path first, the user namespace before the others;
 * then unshare the user namespace, have the parent write the id maps, and
 * unshare the rest; pid and time namespaces apply to children, hence the fork).
 */
import type { LinuxNamespace, NamespaceType, Spec } from '../spec/types';

export const CLONE = {
  NEWTIME: 0x80,
  NEWNS: 0x20000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

export const nsFlag: Record<NamespaceType, number> = {
  pid: CLONE.NEWPID,
  network: CLONE.NEWNET,
  mount: CLONE.NEWNS,
  ipc: CLONE.NEWIPC,
  uts: CLONE.NEWUTS,
  user: CLONE.NEWUSER,
  cgroup: CLONE.NEWCGROUP,
  time: CLONE.NEWTIME,
};

/** The name under /proc/<pid>/ns/. */
export const nsProcName: Record<NamespaceType, string> = {
  pid: 'pid',
  network: 'net',
  mount: 'mnt',
  ipc: 'ipc',
  uts: 'uts',
  user: 'user',
  cgroup: 'cgroup',
  time: 'time',
};

/** setns order: user first (it owns the others), mount last-but-one, as runc's nsexec orders them. */
const joinOrder: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'time', 'cgroup', 'mount'];

export interface NamespacePlan {
  /** Namespaces joined by path, in setns order. */
  join: LinuxNamespace[];
  /** Whether a new user namespace is created (its maps are written by the parent). */
  newUser: boolean;
  /** The other new namespaces, as one unshare(2) flag set. */
  unshareFlags: number;
  newPid: boolean;
  newNet: boolean;
  newMount: boolean;
  newTime: boolean;
  has(t: NamespaceType): boolean;
}

export function planNamespaces(spec: Spec): NamespacePlan {
  const list = spec.linux?.namespaces ?? [];
  const join = list.filter((n) => n.path).sort((a, b) => joinOrder.indexOf(a.type) - joinOrder.indexOf(b.type));
  const fresh = new Set(list.filter((n) => !n.path).map((n) => n.type));
  let unshareFlags = 0;
  for (const t of fresh) if (t !== 'user') unshareFlags |= nsFlag[t];
  return {
    join,
    newUser: fresh.has('user'),
    unshareFlags,
    newPid: fresh.has('pid'),
    newNet: fresh.has('network'),
    newMount: fresh.has('mount'),
    newTime: fresh.has('time'),
    has: (t) => list.some((n) => n.type === t),
  };
}
