/**
 * Linux capabilities (linux/capability.h, capabilities(7)): names <-> numbers
 * and the five sets of a spec's process.capabilities as 64-bit masks for the
 * plan's CapBounding and Caps steps.
 *
 * Unknown names: runc 1.1 (libcontainer/capabilities.New) only warns about
 * names it does not know and drops them. berth refuses a name that is not a
 * Linux capability at all (a typo like CAP_NET_ADMN silently granting less than
 * asked is worse than a clear error), but, like runc, drops with a warning a
 * real capability that the running kernel does not have (above
 * /proc/sys/kernel/cap_last_cap), so a spec written for a newer kernel still runs.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../../proto/src/errdefs';
import type { LinuxCapabilities } from '../spec/types';

/** Every capability, indexed by its number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The highest capability berth knows (CAP_LAST_CAP of linux/capability.h 6.x). */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;

const NUMBERS = new Map(CAPABILITIES.map((name, i) => [name, i]));

export function capabilityNumber(name: string): number | undefined {
  return NUMBERS.get(name);
}

export function capabilityName(n: number): string | undefined {
  return CAPABILITIES[n];
}

/** The names of the bits set in a mask, in number order. */
export function capabilityNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/**
 * The running kernel's last capability (/proc/sys/kernel/cap_last_cap), or
 * CAP_LAST_CAP when the file cannot be read (as gocapability falls back).
 */
export function kernelLastCap(path = '/proc/sys/kernel/cap_last_cap'): number {
  try {
    const n = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(n) && n >= 0 ? n : CAP_LAST_CAP;
  } catch {
    return CAP_LAST_CAP;
  }
}

export interface CapabilityMasks {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
  /** Real capabilities the running kernel does not have: dropped, to be logged as a warning (as runc does). */
  ignored: string[];
}

const SETS = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const;

/**
 * The five capability sets of `process.capabilities` as masks. An absent set
 * is empty (runc: a nil list grants nothing). Throws InvalidArgument for a name
 * that is not a Linux capability.
 */
export function capabilityMasks(caps: LinuxCapabilities | undefined, opts: { lastCap?: number } = {}): CapabilityMasks {
  const lastCap = opts.lastCap ?? kernelLastCap();
  const ignored = new Set<string>();
  const out = { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
  for (const set of SETS) {
    const names = caps?.[set] ?? [];
    if (!Array.isArray(names)) throw new InvalidArgumentError(`process.capabilities.${set} must be a list of capability names`);
    for (const name of names) {
      const n = capabilityNumber(name);
      if (n === undefined) {
        throw new InvalidArgumentError(
          `unknown capability ${JSON.stringify(name)} in process.capabilities.${set} (known: CAP_CHOWN ... ${CAPABILITIES[CAP_LAST_CAP]}; names are upper case with the CAP_ prefix)`,
        );
      }
      if (n > lastCap) {
        ignored.add(name);
        continue;
      }
      out[set] |= 1n << BigInt(n);
    }
  }
  return { ...out, ignored: [...ignored] };
}

/** `runc spec`'s capabilities: the same three in bounding, effective, permitted and ambient. */
export const RUNC_DEFAULT_CAPABILITIES: Readonly<Required<Pick<LinuxCapabilities, 'bounding' | 'effective' | 'permitted' | 'ambient'>>> = {
  bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
  permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
  ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
  effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
};

/** A fresh copy of RUNC_DEFAULT_CAPABILITIES, for `berth-runtime spec` to put in a new config.json. */
export function defaultCapabilities(): LinuxCapabilities {
  return {
    bounding: [...RUNC_DEFAULT_CAPABILITIES.bounding],
    effective: [...RUNC_DEFAULT_CAPABILITIES.effective],
    permitted: [...RUNC_DEFAULT_CAPABILITIES.permitted],
    ambient: [...RUNC_DEFAULT_CAPABILITIES.ambient],
  };
}
