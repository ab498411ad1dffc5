/**
 * The seccomp architectures berth can filter: the OCI names (runtime-spec
 * config-linux.md "seccomp", libseccomp's SCMP_ARCH_*), the AUDIT_ARCH_* value
 * the kernel puts in seccomp_data.arch, the word size and the syscall table.
 */
import { SYSCALLS_AARCH64 } from './syscalls-aarch64';
import { SYSCALLS_ARM } from './syscalls-arm';
import { SYSCALLS_X32 } from './syscalls-x32';
import { SYSCALLS_X86 } from './syscalls-x86';
import { SYSCALLS_X86_64 } from './syscalls-x86_64';

export type ArchName = 'x86_64' | 'x86' | 'x32' | 'aarch64' | 'arm';

export interface ArchDef {
  name: ArchName;
  /** The OCI / libseccomp name. */
  oci: string;
  /** AUDIT_ARCH_* (linux/audit.h): what seccomp_data.arch holds. x32 shares x86_64's. */
  auditArch: number;
  /** 32-bit ABIs compare only the low word of an argument, as libseccomp does. */
  bits: 32 | 64;
  syscalls: Readonly<Record<string, number>>;
  /** socketcall(2)/ipc(2) numbers where the ABI multiplexes them (i386). */
  socketcall?: number;
  ipc?: number;
}

const AUDIT_ARCH_64BIT = 0x80000000;
const AUDIT_ARCH_LE = 0x40000000;
const EM_386 = 3;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/** __X32_SYSCALL_BIT: x32 syscalls are x86_64 syscalls with this bit set in nr. */
export const X32_SYSCALL_BIT = 0x40000000;

export const ARCHES: Readonly<Record<ArchName, ArchDef>> = {
  x86_64: { name: 'x86_64', oci: 'SCMP_ARCH_X86_64', auditArch: (EM_X86_64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0, bits: 64, syscalls: SYSCALLS_X86_64 },
  x86: { name: 'x86', oci: 'SCMP_ARCH_X86', auditArch: (EM_386 | AUDIT_ARCH_LE) >>> 0, bits: 32, syscalls: SYSCALLS_X86, socketcall: 102, ipc: 117 },
  x32: { name: 'x32', oci: 'SCMP_ARCH_X32', auditArch: (EM_X86_64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0, bits: 32, syscalls: SYSCALLS_X32 },
  aarch64: { name: 'aarch64', oci: 'SCMP_ARCH_AARCH64', auditArch: (EM_AARCH64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE) >>> 0, bits: 64, syscalls: SYSCALLS_AARCH64 },
  arm: { name: 'arm', oci: 'SCMP_ARCH_ARM', auditArch: (EM_ARM | AUDIT_ARCH_LE) >>> 0, bits: 32, syscalls: SYSCALLS_ARM },
};

/** Names the runtime-spec (and runc) know but berth has no syscall table for. */
const KNOWN_UNSUPPORTED = new Set([
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
]);

/** Maps an OCI architecture name to berth's; throws a clear error for unknown or unsupported ones. */
export function archFromOci(name: string): ArchName {
  for (const a of Object.values(ARCHES)) if (a.oci === name) return a.name;
  if (KNOWN_UNSUPPORTED.has(name)) throw new Error(`seccomp architecture ${name} is not supported by berth (no syscall table for it)`);
  throw new Error(`string ${name} is not a valid arch for seccomp`);
}

/** The architecture of the running process (Node's process.arch), like libseccomp's seccomp_arch_native(). */
export function nativeArch(): ArchName {
  switch (process.arch) {
    case 'x64':
      return 'x86_64';
    case 'ia32':
      return 'x86';
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return 'arm';
    default:
      throw new Error(`seccomp is not supported by berth on ${process.arch}`);
  }
}

/** socketcall(2) sub-call numbers (linux/net.h SYS_*), which libseccomp uses for the i386 multiplexer. */
export const SOCKETCALL_SUBCALLS: Readonly<Record<string, number>> = {
  socket: 1,
  bind: 2,
  connect: 3,
  listen: 4,
  accept: 5,
  getsockname: 6,
  getpeername: 7,
  socketpair: 8,
  send: 9,
  recv: 10,
  sendto: 11,
  recvfrom: 12,
  shutdown: 13,
  setsockopt: 14,
  getsockopt: 15,
  sendmsg: 16,
  recvmsg: 17,
  accept4: 18,
  recvmmsg: 19,
  sendmmsg: 20,
};

/** ipc(2) sub-call numbers (linux/ipc.h). */
export const IPC_SUBCALLS: Readonly<Record<string, number>> = {
  semop: 1,
  semget: 2,
  semctl: 3,
  semtimedop: 4,
  msgsnd: 11,
  msgrcv: 12,
  msgget: 13,
  msgctl: 14,
  shmat: 21,
  shmdt: 22,
  shmget: 23,
  shmctl: 24,
};

const TABLES = new Map<ArchName, ReadonlyMap<string, number>>(Object.values(ARCHES).map((a) => [a.name, new Map(Object.entries(a.syscalls))]));
const ALL_NAMES = new Set<string>([...Object.keys(SOCKETCALL_SUBCALLS), ...Object.keys(IPC_SUBCALLS), ...[...TABLES.values()].flatMap((t) => [...t.keys()])]);

/** True if some supported architecture knows the name (libseccomp resolves such names to pseudo numbers). */
export function isKnownSyscall(name: string): boolean {
  return ALL_NAMES.has(name);
}

/** The syscall number of `name` on `arch`, or undefined. */
export function syscallNumber(arch: ArchName, name: string): number | undefined {
  return TABLES.get(arch)!.get(name);
}
