/**
 * berth's default seccomp profile: the same effect as Docker's default
 * (moby profiles/seccomp/default.json, also containerd's contrib/seccomp):
 * an allow-list whose default is ERRNO(EPERM), conditional rules for
 * personality(2), clone(2) without namespace flags, socket(2) without
 * AF_VSOCK, clone3(2) failing with ENOSYS (so libc falls back to clone), and
 * groups that only a capability in the bounding set opens, as Docker builds it
 * for a container's capabilities.
 *
 * The groups below are written as data, one concern per group, in the shape of
 * moby's profile (includes / excludes on capabilities, architectures and
 * minimum kernel).
 */
import { ArchName, ARCHES, nativeArch } from './arch';
import type { LinuxSeccomp, LinuxSyscall } from '../spec/types';

interface Group {
  names: string[];
  action?: string;
  errnoRet?: number;
  args?: LinuxSyscall['args'];
  /** Only when the bounding set has one of these capabilities. */
  caps?: string[];
  /** Only when the bounding set has none of these capabilities. */
  notCaps?: string[];
  /** Only on these native architectures. */
  arches?: ArchName[];
  /** Only from this kernel version on. */
  minKernel?: [number, number];
}

const EPERM = 1;
const ENOSYS = 38;
const AF_VSOCK = 40;
/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

const GROUPS: Group[] = [
  {
    // Processes, threads, signals, scheduling of oneself.
    names: [
      'capget', 'capset', 'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'getcpu', 'getpgid', 'getpgrp',
      'getpid', 'getppid', 'getpriority', 'getrlimit', 'getrusage', 'getsid', 'gettid', 'get_robust_list', 'set_robust_list',
      'get_thread_area', 'set_thread_area', 'set_tid_address', 'ioprio_get', 'ioprio_set', 'kill', 'tkill', 'tgkill', 'membarrier',
      'pause', 'pidfd_open', 'pidfd_send_signal', 'prctl', 'prlimit64', 'restart_syscall', 'rseq', 'rt_sigaction', 'rt_sigpending',
      'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64',
      'rt_tgsigqueueinfo', 'sched_getaffinity', 'sched_getattr', 'sched_getparam', 'sched_get_priority_max',
      'sched_get_priority_min', 'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64',
      'sched_setaffinity', 'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'setpgid',
      'setpriority', 'setrlimit', 'setsid', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn', 'ugetrlimit',
      'umask', 'uname', 'wait4', 'waitid', 'waitpid', 'process_mrelease', 'sysinfo', 'times',
    ],
  },
  {
    // Credentials (the kernel checks the capabilities themselves).
    names: [
      'getegid', 'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getresgid',
      'getresgid32', 'getresuid', 'getresuid32', 'getuid', 'getuid32', 'setfsgid', 'setfsgid32', 'setfsuid', 'setfsuid32',
      'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid',
      'setresuid32', 'setreuid', 'setreuid32', 'setuid', 'setuid32',
    ],
  },
  {
    // Memory.
    names: [
      'brk', 'madvise', 'memfd_create', 'memfd_secret', 'mincore', 'mlock', 'mlock2', 'mlockall', 'mmap', 'mmap2', 'mprotect',
      'mremap', 'msync', 'munlock', 'munlockall', 'munmap', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'remap_file_pages',
      'map_shadow_stack',
    ],
  },
  {
    // Files, directories, metadata, extended attributes.
    names: [
      'access', 'faccessat', 'faccessat2', 'chdir', 'fchdir', 'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'chown32',
      'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32', 'close', 'close_range', 'copy_file_range', 'creat', 'dup', 'dup2',
      'dup3', 'fadvise64', 'fadvise64_64', 'fallocate', 'fcntl', 'fcntl64', 'fdatasync', 'fsync', 'syncfs', 'sync',
      'sync_file_range', 'flock', 'fstat', 'fstat64', 'fstatat64', 'newfstatat', 'lstat', 'lstat64', 'stat', 'stat64', 'statx',
      'fstatfs', 'fstatfs64', 'statfs', 'statfs64', 'ftruncate', 'ftruncate64', 'truncate', 'truncate64', 'futimesat', 'utime',
      'utimensat', 'utimensat_time64', 'utimes', 'getcwd', 'getdents', 'getdents64', 'link', 'linkat', 'symlink', 'symlinkat',
      'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'rmdir', 'lseek',
      '_llseek', 'open', 'openat', 'openat2', 'read', 'readv', 'pread64', 'preadv', 'preadv2', 'write', 'writev', 'pwrite64',
      'pwritev', 'pwritev2', 'readahead', 'readlink', 'readlinkat', 'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice',
      'ioctl', 'fgetxattr', 'flistxattr', 'fremovexattr', 'fsetxattr', 'getxattr', 'lgetxattr', 'listxattr', 'llistxattr',
      'lremovexattr', 'lsetxattr', 'removexattr', 'setxattr', 'fanotify_mark', 'inotify_add_watch', 'inotify_init',
      'inotify_init1', 'inotify_rm_watch', 'cachestat', 'landlock_add_rule', 'landlock_create_ruleset', 'landlock_restrict_self',
    ],
  },
  {
    // Waiting, polling, events, timers, clocks, futexes, asynchronous I/O.
    names: [
      'alarm', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64', 'clock_nanosleep',
      'clock_nanosleep_time64', 'gettimeofday', 'nanosleep', 'time', 'getitimer', 'setitimer', 'timer_create', 'timer_delete',
      'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64', 'timerfd_create',
      'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'adjtimex', 'clock_adjtime',
      'clock_adjtime64', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2',
      'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'poll', 'ppoll', 'ppoll_time64', 'select', '_newselect', 'pselect6',
      'pselect6_time64', 'futex', 'futex_time64', 'futex_waitv', 'futex_wait', 'futex_wake', 'futex_requeue', 'io_cancel',
      'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'io_setup', 'io_submit', 'io_uring_enter',
      'io_uring_register', 'io_uring_setup', 'getrandom',
    ],
  },
  {
    // Sockets (socket(2) itself is below, without AF_VSOCK), pipes, SysV and POSIX IPC.
    names: [
      'accept', 'accept4', 'bind', 'connect', 'getpeername', 'getsockname', 'getsockopt', 'setsockopt', 'listen', 'recv',
      'recvfrom', 'recvmmsg', 'recvmmsg_time64', 'recvmsg', 'send', 'sendmmsg', 'sendmsg', 'sendto', 'shutdown', 'socketcall',
      'socketpair', 'pipe', 'pipe2', 'ipc', 'msgctl', 'msgget', 'msgrcv', 'msgsnd', 'semctl', 'semget', 'semop', 'semtimedop',
      'semtimedop_time64', 'shmat', 'shmctl', 'shmdt', 'shmget', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive',
      'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink',
    ],
  },
  // socket(2) for every family but AF_VSOCK, which reaches the host.
  { names: ['socket'], args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
  // personality(2) only for PER_LINUX, PER_LINUX32, UNAME26 variants and the query 0xffffffff.
  ...[0x0, 0x0008, 0x20000, 0x20008, 0xffffffff].map((v): Group => ({ names: ['personality'], args: [{ index: 0, value: v, op: 'SCMP_CMP_EQ' }] })),
  // ptrace(2) of one's own children is safe from 4.8 on (seccomp is re-checked after a tracer changes a syscall).
  { names: ['ptrace'], minKernel: [4, 8] },
  // Architecture specifics.
  { names: ['arch_prctl', 'modify_ldt'], arches: ['x86_64'] },
  { names: ['modify_ldt'], arches: ['x86'] },
  { names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'], arches: ['aarch64', 'arm'] },
  // Capability-dependent groups.
  { names: ['open_by_handle_at'], caps: ['CAP_DAC_READ_SEARCH'] },
  {
    names: [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount',
      'mount_setattr', 'move_mount', 'name_to_handle_at', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd',
      'setdomainname', 'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
    ],
    caps: ['CAP_SYS_ADMIN'],
  },
  { names: ['reboot'], caps: ['CAP_SYS_BOOT'] },
  { names: ['chroot'], caps: ['CAP_SYS_CHROOT'] },
  { names: ['delete_module', 'init_module', 'finit_module'], caps: ['CAP_SYS_MODULE'] },
  { names: ['acct'], caps: ['CAP_SYS_PACCT'] },
  { names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'], caps: ['CAP_SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], caps: ['CAP_SYS_RAWIO'] },
  { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], caps: ['CAP_SYS_TIME'] },
  { names: ['vhangup'], caps: ['CAP_SYS_TTY_CONFIG'] },
  { names: ['get_mempolicy', 'mbind', 'set_mempolicy'], caps: ['CAP_SYS_NICE'] },
  { names: ['syslog'], caps: ['CAP_SYSLOG'] },
  { names: ['bpf'], caps: ['CAP_BPF'] },
  { names: ['perf_event_open'], caps: ['CAP_PERFMON'] },
  // Without CAP_SYS_ADMIN: clone(2) only without namespace flags, and clone3(2) (whose flags are
  // behind a pointer) fails with ENOSYS so that libc falls back to clone(2).
  { names: ['clone'], args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }], notCaps: ['CAP_SYS_ADMIN'] },
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, notCaps: ['CAP_SYS_ADMIN'] },
];

/** The OCI architectures Docker lists for a native architecture. */
const PROFILE_ARCHES: Record<ArchName, ArchName[]> = {
  x86_64: ['x86_64', 'x86', 'x32'],
  x86: ['x86'],
  x32: ['x32'],
  aarch64: ['arm', 'aarch64'],
  arm: ['arm'],
};

export interface DefaultProfileOptions {
  /** The container's bounding capabilities (process.capabilities.bounding); default: none. */
  capabilities?: readonly string[];
  /** Default: this process's architecture. */
  arch?: ArchName;
  /** The running kernel's version, [major, minor]; default: assumed new enough for every group. */
  kernel?: [number, number];
}

const kernelAtLeast = (k: [number, number], min: [number, number]): boolean => k[0] > min[0] || (k[0] === min[0] && k[1] >= min[1]);

/** Docker's default profile for a container with the given capabilities. */
export function defaultSeccompProfile(opts: DefaultProfileOptions = {}): LinuxSeccomp {
  const caps = new Set(opts.capabilities ?? []);
  const arch = opts.arch ?? nativeArch();
  const syscalls: LinuxSyscall[] = [];
  for (const g of GROUPS) {
    if (g.caps && !g.caps.some((c) => caps.has(c))) continue;
    if (g.notCaps && g.notCaps.some((c) => caps.has(c))) continue;
    if (g.arches && !g.arches.includes(arch)) continue;
    if (g.minKernel && opts.kernel && !kernelAtLeast(opts.kernel, g.minKernel)) continue;
    const rule: LinuxSyscall = { names: [...g.names], action: g.action ?? 'SCMP_ACT_ALLOW' };
    if (g.errnoRet !== undefined) rule.errnoRet = g.errnoRet;
    if (g.args) rule.args = g.args.map((a) => ({ ...a }));
    syscalls.push(rule);
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: PROFILE_ARCHES[arch].map((a) => ARCHES[a].oci),
    syscalls,
  };
}
