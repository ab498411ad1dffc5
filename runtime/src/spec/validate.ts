/**
 * The named checks that the schema cannot express, as runc's
 * libcontainer/configs/validate/validator.go: each returns problems; warnings
 * are kept apart and only logged.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { selinuxEnabled } from '../plan/lsm';
import type { NamespaceType, Spec } from './types';

export interface Findings {
  errors: string[];
  warnings: string[];
}

type Check = (spec: Spec, out: Findings) => void;

const has = (spec: Spec, t: NamespaceType) => (spec.linux?.namespaces ?? []).some((n) => n.type === t);
const newNs = (spec: Spec, t: NamespaceType) => (spec.linux?.namespaces ?? []).some((n) => n.type === t && !n.path);

const checks: Record<string, Check> = {
  process(spec, out) {
    const p = spec.process;
    if (!p) return;
    if (!p.args || p.args.length === 0) out.errors.push('args must not be empty');
    if (!path.isAbsolute(p.cwd)) out.errors.push(`cwd ${JSON.stringify(p.cwd)} is not an absolute path`);
    for (const e of p.env ?? []) {
      if (!e.includes('=')) out.errors.push(`env entry ${JSON.stringify(e)} is not of the form KEY=value`);
    }
    for (const r of p.rlimits ?? []) {
      if (r.soft > r.hard) out.errors.push(`rlimit ${r.type}: soft limit ${r.soft} is greater than the hard limit ${r.hard}`);
    }
  },

  namespaces(spec, out) {
    const seen = new Set<string>();
    for (const ns of spec.linux?.namespaces ?? []) {
      if (seen.has(ns.type)) out.errors.push(`duplicate namespace ${JSON.stringify(ns.type)}`);
      seen.add(ns.type);
      if (ns.path !== undefined && ns.path !== '' && !path.isAbsolute(ns.path)) {
        out.errors.push(`namespace ${ns.type} path ${JSON.stringify(ns.path)} is not absolute`);
      }
      if (ns.path && !fs.existsSync(ns.path)) out.errors.push(`namespace ${ns.type} path ${JSON.stringify(ns.path)} does not exist`);
      const proc = ns.type === 'network' ? 'net' : ns.type === 'mount' ? 'mnt' : ns.type;
      if (!fs.existsSync(`/proc/self/ns/${proc}`)) out.errors.push(`${ns.type} namespaces aren't enabled in the kernel`);
    }
  },

  hostname(spec, out) {
    if (spec.hostname && !has(spec, 'uts')) out.errors.push('unable to set hostname without a private UTS namespace');
    if (spec.domainname && !has(spec, 'uts')) out.errors.push('unable to set domainname without a private UTS namespace');
  },

  security(spec, out) {
    const l = spec.linux;
    if (((l?.maskedPaths?.length ?? 0) > 0 || (l?.readonlyPaths?.length ?? 0) > 0) && !has(spec, 'mount')) {
      out.errors.push('unable to restrict sys entries without a private MNT namespace');
    }
    if (spec.process?.selinuxLabel && !selinuxEnabled()) {
      out.errors.push('selinux label is specified in config, but selinux is disabled or not supported');
    }
  },

  usernamespace(spec, out) {
    const l = spec.linux;
    if (!has(spec, 'user') && ((l?.uidMappings?.length ?? 0) > 0 || (l?.gidMappings?.length ?? 0) > 0)) {
      out.errors.push("User namespace mappings specified, but USER namespace isn't enabled in the config");
    }
    if (newNs(spec, 'user')) {
      if (!l?.uidMappings?.length || !l?.gidMappings?.length) out.errors.push('user namespace requires uidMappings and gidMappings');
      for (const [name, maps] of [['uidMappings', l?.uidMappings ?? []], ['gidMappings', l?.gidMappings ?? []]] as const) {
        for (const m of maps) if (m.size === 0) out.errors.push(`${name}: a mapping of size 0`);
        const sorted = [...maps].sort((a, b) => a.containerID - b.containerID);
        for (let i = 1; i < sorted.length; i++) {
          if (sorted[i].containerID < sorted[i - 1].containerID + sorted[i - 1].size) {
            out.errors.push(`${name}: container ids ${sorted[i - 1].containerID}+${sorted[i - 1].size} and ${sorted[i].containerID}+${sorted[i].size} overlap`);
          }
        }
        const byHost = [...maps].sort((a, b) => a.hostID - b.hostID);
        for (let i = 1; i < byHost.length; i++) {
          if (byHost[i].hostID < byHost[i - 1].hostID + byHost[i - 1].size) {
            out.errors.push(`${name}: host ids ${byHost[i - 1].hostID}+${byHost[i - 1].size} and ${byHost[i].hostID}+${byHost[i].size} overlap`);
          }
        }
        if (maps.length > 340) out.errors.push(`${name}: more than 340 mappings`);
      }
    }
  },

  sysctl(spec, out) {
    const ipcNamespaced = new Set([
      'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
      'kernel.shm_rmid_forced',
    ]);
    for (const raw of Object.keys(spec.linux?.sysctl ?? {})) {
      const s = sysctlDots(raw);
      if (ipcNamespaced.has(s) || s.startsWith('fs.mqueue.')) {
        if (!has(spec, 'ipc')) out.errors.push(`sysctl ${JSON.stringify(s)} is not allowed in the hosts ipc namespace`);
        continue;
      }
      if (s.startsWith('net.')) {
        if (!has(spec, 'network')) out.errors.push(`sysctl ${JSON.stringify(s)} not allowed in host network namespace`);
        continue;
      }
      if (has(spec, 'uts') && s === 'kernel.domainname') continue;
      if (has(spec, 'uts') && s === 'kernel.hostname') {
        out.errors.push(`sysctl ${JSON.stringify(s)} is not allowed as it conflicts with the OCI "hostname" field`);
        continue;
      }
      out.errors.push(`sysctl ${JSON.stringify(s)} is not in a separate kernel namespace`);
    }
  },

  mounts(spec, out) {
    for (const m of spec.mounts ?? []) {
      if (!path.isAbsolute(m.destination)) {
        // runc 1.1 accepts a relative destination (joined to /) with a warning.
        out.warnings.push(`mount destination ${JSON.stringify(m.destination)} is not absolute; treating it as relative to /`);
      }
      if (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')) {
        if (!m.source) out.errors.push(`mount ${JSON.stringify(m.destination)}: a bind mount needs a source`);
      }
    }
  },

  cgroupsPath(spec, out) {
    const p = spec.linux?.cgroupsPath;
    if (p && p.split('/').includes('..')) out.errors.push(`cgroupsPath ${JSON.stringify(p)} must not contain ".."`);
  },

  intelRdt(spec, out) {
    if (spec.linux?.intelRdt && !fs.existsSync('/sys/fs/resctrl/schemata')) {
      out.errors.push('intelRdt is specified in config, but Intel RDT is not supported or enabled on this host (no resctrl filesystem)');
    }
  },

  hooks(spec, out) {
    for (const [name, hooks] of Object.entries(spec.hooks ?? {})) {
      for (const h of hooks ?? []) {
        if (!path.isAbsolute(h.path)) out.errors.push(`${name} hook path ${JSON.stringify(h.path)} is not absolute`);
        if (h.timeout !== undefined && h.timeout <= 0) out.errors.push(`${name} hook ${h.path}: timeout must be positive`);
      }
    }
  },
};

/** runc's convertSysctlVariableToDotsSeparator: "net/ipv4/ip_forward" → "net.ipv4.ip_forward". */
export function sysctlDots(key: string): string {
  const i = key.search(/[./]/);
  if (i === -1 || key[i] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

export function validateSpec(spec: Spec): Findings {
  const out: Findings = { errors: [], warnings: [] };
  for (const check of Object.values(checks)) check(spec, out);
  return out;
}
