/*
 * berth-nsexec: the plan format shared with TypeScript (runtime/src/process/plan.ts).
 *
 * TypeScript makes every decision and encodes it as a plan: a header followed by
 * steps, each a kind, flags and a list of length-prefixed arguments, all
 * little-endian (runc's bootstrap data, libcontainer/message_linux.go, is the
 * model). The C side executes the steps in order and stops at the first that
 * fails. The numbers below are the contract: plan.ts mirrors them and a unit
 * test (runtime/src/process/plan.test.ts) checks that both agree.
 *
 *   header: u32 magic 'BRTH' | u32 version | u32 total length | u32 step count
 *   step:   u32 kind | u32 flags | u32 nargs | nargs × (u32 len | len bytes)
 *
 * Strings arrive NUL-terminated (the length counts the NUL); numbers are u64;
 * lists (argv, env) are NUL-separated strings in one argument.
 */
#ifndef BERTH_PLAN_H
#define BERTH_PLAN_H

#include <stdint.h>

#define PLAN_MAGIC 0x48545242u /* "BRTH" */
#define PLAN_VERSION 1u
#define PLAN_MAX_BYTES (16u << 20)
#define PLAN_MAX_ARGS 16

enum step_kind {
	STEP_UNSHARE = 1,        /* flags:u64 */
	STEP_SETNS = 2,          /* path, nstype:u64 */
	STEP_SYNC = 3,           /* name, slot:u64 — ask the parent, keep its reply in a slot */
	STEP_FORK = 4,           /* mode:u64 (FORK_DETACH | FORK_WAIT) */
	STEP_MOUNT = 5,          /* source, target, fstype, flags:u64, data */
	STEP_MKDIR = 6,          /* path, mode:u64 — like mkdir -p */
	STEP_MKFILE = 7,         /* path, mode:u64 — an empty file unless one exists */
	STEP_MKNOD = 8,          /* path, mode:u64, dev:u64, uid:u64, gid:u64 */
	STEP_SYMLINK = 9,        /* target, linkpath */
	STEP_WRITE_FILE = 10,    /* path, data */
	STEP_CHDIR = 11,         /* path */
	STEP_PIVOT_ROOT = 12,    /* rootfs */
	STEP_MOVE_ROOT = 13,     /* rootfs — for --no-pivot: MS_MOVE onto / and chroot */
	STEP_SETHOSTNAME = 14,   /* name */
	STEP_SETDOMAINNAME = 15, /* name */
	STEP_SETRLIMIT = 16,     /* resource:u64, soft:u64, hard:u64 */
	STEP_PRCTL = 17,         /* option:u64, arg2:u64 */
	STEP_PERSONALITY = 18,   /* persona:u64 */
	STEP_IOPRIO = 19,        /* ioprio:u64 (class << 13 | level) */
	STEP_SCHED = 20,         /* policy, flags, nice, priority, runtime, deadline, period: u64 each */
	STEP_SETSID = 21,        /* */
	STEP_CONSOLE = 22,       /* fd, rows, cols: u64 — make a pty, send its master over the socket fd */
	STEP_KEYRING = 23,       /* name, perm:u64 — join a new session keyring, add perm bits to it */
	STEP_LO_UP = 24,         /* */
	STEP_MASK = 25,          /* path — runc's maskPath */
	STEP_READONLY = 26,      /* path — runc's readonlyPath */
	STEP_REMOUNT_RO = 27,    /* path — remount read-only, keeping the other flags */
	STEP_SETGROUPS = 28,     /* gids: u32 array */
	STEP_SETRESGID = 29,     /* gid:u64 */
	STEP_SETRESUID = 30,     /* uid:u64 */
	STEP_CAP_BOUNDING = 31,  /* keep:u64 — drop every bounding cap not in the mask */
	STEP_CAPS = 32,          /* effective, permitted, inheritable, ambient: u64 masks */
	STEP_UMASK = 33,         /* mask:u64 */
	STEP_OPEN_FIFO = 34,     /* path — keep an O_PATH fd for WAIT_FIFO */
	STEP_WAIT_FIFO = 35,     /* */
	STEP_HOOK = 36,          /* path, args, env, timeout:u64 seconds, slot:u64 — the slot's reply on stdin */
	STEP_SECCOMP = 37,       /* bpf program, flags:u64, listener fd:u64 (or ~0), slot:u64 of the state to send */
	STEP_CLOSE_FDS = 38,     /* first:u64 — mark every fd >= first close-on-exec */
	STEP_LOOKUP = 39,        /* name, PATH — find the binary now, before the fifo */
	STEP_EXEC = 40,          /* argv, env */
	STEP_DUP_STDIO = 41,     /* path — open it onto 0, 1 and 2 (exec -d without a tty) */
	STEP_BPF_DEVICES = 42,   /* cgroup dir, program, license — attach a cgroup v2 device filter */
	STEP_REPORT = 43,        /* name — tell the parent, without waiting for a reply */
	STEP_MOUNT_SETATTR = 44, /* path, set:u64, clr:u64 — mount_setattr(AT_RECURSIVE) */
	STEP_CONSOLE_RELAY = 45, /* — before FORK_WAIT: the parent will carry the init's pty (CONSOLE fd ~0) */
	STEP_MAX
};

/* Step flags (bits); not every step honours every flag. */
#define F_IGNORE_ENOENT   (1u << 0) /* a missing path is not an error */
#define F_CHECK_TARGET    (1u << 1) /* MOUNT: the target must still resolve to itself (no symlink swapped in) */
#define F_IGNORE_EPERM    (1u << 2) /* e.g. a sysctl the user namespace cannot write */
#define F_SYNC_STDIN      (1u << 3) /* HOOK: feed the last SYNC reply on stdin */
#define F_SEARCH_PATH     (1u << 4) /* LOOKUP: search PATH when the name has no slash */
#define F_COPY_UP         (1u << 5) /* MOUNT: copy what the target held into the new mount (runc's tmpcopyup) */

/* FORK modes. */
#define FORK_DETACH 0 /* the parent reports the child's pid and exits 0 */
#define FORK_WAIT 1   /* the parent reports the pid, forwards signals, waits, and mirrors the exit */

#endif
