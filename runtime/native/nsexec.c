/*
 * berth-nsexec — the small native part of berth-runtime.
 *
 * Node cannot fork, unshare, setns, mount, pivot_root, prctl or pass file
 * descriptors, and a multithreaded process cannot enter a new user or mount
 * namespace. So the container's init is this fresh, single-threaded program:
 * it reads a plan that TypeScript computed (runtime/src/process/plan.ts) and
 * carries it out step by step. It makes no decisions of its own: defaults,
 * ordering, paths, mount options, id maps and BPF programs all come from the
 * plan. It reports the first step that fails, with errno, back to TypeScript.
 *
 *   berth-nsexec init PLAN_FD SYNC_FD LOG_FD
 *
 * PLAN_FD  the plan (see plan.h), read once at start.
 * SYNC_FD  a socket to the runtime: JSON lines up, replies down (see sync.ts).
 * LOG_FD   logrus-shaped JSON lines, forwarded by the runtime into its log.
 *
 * Model: runc's libcontainer/nsenter/nsexec.c and standard_init_linux.go.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "plan.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct arg {
	uint32_t len;
	const unsigned char *data;
};

struct step {
	uint32_t kind;
	uint32_t flags;
	uint32_t nargs;
	struct arg args[PLAN_MAX_ARGS];
};

/* Process-wide state carried between steps. */
static int sync_fd = -1;
static int log_fd = -1;
static int fifo_fd = -1;             /* OPEN_FIFO → WAIT_FIFO */
#define SYNC_SLOTS 4
static char *sync_data[SYNC_SLOTS];  /* SYNC replies by slot (state JSON for hooks, seccomp metadata) */
static uint32_t sync_len[SYNC_SLOTS];
static char exec_path[PATH_MAX];     /* LOOKUP → EXEC */
static int current_step = -1;

static const char *const step_names[STEP_MAX] = {
	[STEP_UNSHARE] = "unshare", [STEP_SETNS] = "setns", [STEP_SYNC] = "sync",
	[STEP_FORK] = "fork", [STEP_MOUNT] = "mount", [STEP_MKDIR] = "mkdir",
	[STEP_MKFILE] = "mkfile", [STEP_MKNOD] = "mknod", [STEP_SYMLINK] = "symlink",
	[STEP_WRITE_FILE] = "write", [STEP_CHDIR] = "chdir", [STEP_PIVOT_ROOT] = "pivot_root",
	[STEP_MOVE_ROOT] = "move_root", [STEP_SETHOSTNAME] = "sethostname",
	[STEP_SETDOMAINNAME] = "setdomainname", [STEP_SETRLIMIT] = "setrlimit",
	[STEP_PRCTL] = "prctl", [STEP_PERSONALITY] = "personality", [STEP_IOPRIO] = "ioprio_set",
	[STEP_SCHED] = "sched_setattr", [STEP_SETSID] = "setsid", [STEP_CONSOLE] = "console",
	[STEP_KEYRING] = "keyring", [STEP_LO_UP] = "lo_up", [STEP_MASK] = "mask",
	[STEP_READONLY] = "readonly", [STEP_REMOUNT_RO] = "remount_ro", [STEP_SETGROUPS] = "setgroups",
	[STEP_SETRESGID] = "setresgid", [STEP_SETRESUID] = "setresuid",
	[STEP_CAP_BOUNDING] = "cap_bounding", [STEP_CAPS] = "capset", [STEP_UMASK] = "umask",
	[STEP_OPEN_FIFO] = "open_fifo", [STEP_WAIT_FIFO] = "wait_fifo", [STEP_HOOK] = "hook",
	[STEP_SECCOMP] = "seccomp", [STEP_CLOSE_FDS] = "close_fds", [STEP_LOOKUP] = "lookup",
	[STEP_EXEC] = "exec", [STEP_DUP_STDIO] = "dup_stdio", [STEP_BPF_DEVICES] = "bpf_devices",
	[STEP_REPORT] = "report", [STEP_MOUNT_SETATTR] = "mount_setattr", [STEP_CONSOLE_RELAY] = "console_relay",
};

/* ------------------------------------------------------------------ output */

/* Appends s to buf as a JSON string body (no quotes), escaping what JSON needs. */
static size_t json_escape(char *buf, size_t cap, size_t at, const char *s)
{
	for (; s && *s && at + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[at++] = '\\';
			buf[at++] = (char)c;
		} else if (c < 0x20) {
			at += (size_t)snprintf(buf + at, cap - at, "\\u%04x", c);
		} else {
			buf[at++] = (char)c;
		}
	}
	buf[at] = '\0';
	return at;
}

/*
 * Writes to the sync socket and log pipe. These are socketpairs from libuv:
 * send(MSG_NOSIGNAL) keeps a runtime that has already exited from killing us
 * with SIGPIPE (ignoring SIGPIPE instead would leak into the container).
 */
static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

/* One logrus-shaped line on the log fd: {"level":"debug","msg":"..."}. */
static void logf_(const char *level, const char *fmt, ...)
{
	char msg[1024], line[2300];
	va_list ap;
	if (log_fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t n = (size_t)snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"", level);
	n = json_escape(line, sizeof(line) - 3, n, msg);
	memcpy(line + n, "\"}\n", 4);
	write_all(log_fd, line, n + 3);
}

/*
 * A message to the runtime on the sync socket (one JSON object per line).
 * The line goes out in one writev(): right after FORK the parent's "pid" and
 * the child's first "sync" race on the same socket, and two write()s each
 * could interleave into a line the runtime cannot read. One sendmsg of a
 * small message is one skb on a unix stream socket, so lines stay whole.
 */
static void sync_send(const char *json)
{
	if (sync_fd < 0)
		return;
	struct iovec iov[2] = { { .iov_base = (void *)json, .iov_len = strlen(json) }, { .iov_base = "\n", .iov_len = 1 } };
	ssize_t w;
	do
		w = writev(sync_fd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w < iov[0].iov_len + 1) {
		/* a partial write (a signal mid-way): send the rest in order */
		size_t done = (size_t)w;
		if (done < iov[0].iov_len)
			write_all(sync_fd, json + done, iov[0].iov_len - done);
		write_all(sync_fd, "\n", 1);
	}
}

/*
 * Reports the failing step as data — {step, kind, errno, path} — and exits.
 * TypeScript turns it into a SyscallError with a clear message.
 */
static void __attribute__((noreturn)) fail(int err, const char *path, const char *detail)
{
	char buf[8192];
	const char *name = (current_step >= 0) ? "?" : "plan";
	extern const struct step *steps;
	if (current_step >= 0 && steps[current_step].kind < STEP_MAX && step_names[steps[current_step].kind])
		name = step_names[steps[current_step].kind];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"error\",\"step\":%d,\"kind\":\"%s\",\"errno\":%d,\"path\":\"",
				    current_step, name, err);
	n = json_escape(buf, sizeof(buf) - 600, n, path ? path : "");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\",\"detail\":\"");
	n = json_escape(buf, sizeof(buf) - 4, n, detail ? detail : "");
	memcpy(buf + n, "\"}", 3);
	sync_send(buf);
	logf_("error", "step %d (%s) failed: %s: %s %s", current_step, name, strerror(err), path ? path : "",
	      detail ? detail : "");
	_exit(1);
}

/* ------------------------------------------------------------------ plan */

const struct step *steps;
static uint32_t nsteps;

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_full(int fd, void *p, size_t n)
{
	char *c = p;
	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads the whole plan and splits it into steps that point into one buffer. */
static void read_plan(int fd)
{
	unsigned char hdr[16];
	if (read_full(fd, hdr, sizeof(hdr)) < 0)
		fail(EIO, "", "cannot read the plan header");
	uint32_t total = get_u32(hdr + 8);
	if (get_u32(hdr) != PLAN_MAGIC || get_u32(hdr + 4) != PLAN_VERSION)
		fail(EINVAL, "", "plan magic or version mismatch (rebuild berth-nsexec)");
	if (total < sizeof(hdr) || total > PLAN_MAX_BYTES)
		fail(EINVAL, "", "plan length out of range");
	nsteps = get_u32(hdr + 12);
	unsigned char *buf = malloc(total);
	struct step *out = calloc(nsteps ? nsteps : 1, sizeof(struct step));
	if (!buf || !out)
		fail(ENOMEM, "", "plan");
	size_t len = total - sizeof(hdr);
	if (read_full(fd, buf, len) < 0)
		fail(EIO, "", "short plan");
	size_t at = 0;
	for (uint32_t i = 0; i < nsteps; i++) {
		if (at + 12 > len)
			fail(EINVAL, "", "truncated step");
		out[i].kind = get_u32(buf + at);
		out[i].flags = get_u32(buf + at + 4);
		out[i].nargs = get_u32(buf + at + 8);
		at += 12;
		if (out[i].nargs > PLAN_MAX_ARGS)
			fail(EINVAL, "", "too many step arguments");
		for (uint32_t a = 0; a < out[i].nargs; a++) {
			if (at + 4 > len)
				fail(EINVAL, "", "truncated argument");
			uint32_t alen = get_u32(buf + at);
			at += 4;
			if (alen > len - at)
				fail(EINVAL, "", "argument overruns the plan");
			out[i].args[a].len = alen;
			out[i].args[a].data = buf + at;
			at += alen;
		}
	}
	steps = out;
}

static const char *arg_str(const struct step *s, uint32_t i)
{
	if (i >= s->nargs || s->args[i].len == 0 || s->args[i].data[s->args[i].len - 1] != '\0')
		fail(EINVAL, "", "expected a string argument");
	return (const char *)s->args[i].data;
}

/* An empty string argument means NULL (mount source, fstype, data). */
static const char *arg_str_or_null(const struct step *s, uint32_t i)
{
	const char *v = arg_str(s, i);
	return *v ? v : NULL;
}

static uint64_t arg_u64(const struct step *s, uint32_t i)
{
	if (i >= s->nargs || s->args[i].len != 8)
		fail(EINVAL, "", "expected a u64 argument");
	const unsigned char *p = s->args[i].data;
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A NUL-separated list as a NULL-terminated char* array (argv, env). */
static char **arg_list(const struct step *s, uint32_t i)
{
	if (i >= s->nargs)
		fail(EINVAL, "", "expected a list argument");
	const char *p = (const char *)s->args[i].data, *end = p + s->args[i].len;
	size_t n = 0;
	for (const char *q = p; q < end; q++)
		n += (*q == '\0');
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		fail(ENOMEM, "", "list");
	for (size_t k = 0; k < n; k++) {
		v[k] = (char *)p;
		p += strlen(p) + 1;
	}
	return v;
}

/* ------------------------------------------------------------------ sync */

/* Asks the runtime (SYNC) and keeps its reply (u32 length, then the bytes) in a slot. */
static void sync_ask(const char *name, uint64_t slot)
{
	if (slot >= SYNC_SLOTS)
		fail(EINVAL, "", "sync slot out of range");
	char msg[512];
	size_t n = (size_t)snprintf(msg, sizeof(msg), "{\"type\":\"sync\",\"name\":\"");
	n = json_escape(msg, sizeof(msg) - 40, n, name);
	snprintf(msg + n, sizeof(msg) - n, "\",\"pid\":%d}", getpid());
	sync_send(msg);
	unsigned char len[4];
	if (read_full(sync_fd, len, 4) < 0)
		_exit(1); /* the runtime went away: nothing left to do */
	uint32_t l = get_u32(len);
	free(sync_data[slot]);
	sync_data[slot] = malloc(l + 1);
	if (!sync_data[slot] || (l && read_full(sync_fd, sync_data[slot], l) < 0))
		_exit(1);
	sync_data[slot][l] = '\0';
	sync_len[slot] = l;
}

static volatile sig_atomic_t got_winch;

/* SIGWINCH is noted; SIGCHLD needs a handler only so that it interrupts poll(). */
static void note_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
}

/* CONSOLE_RELAY: the two ends of the socket the init sends its pty master on. */
static int relay_parent = -1, relay_child = -1;

/* Receives one fd sent with SCM_RIGHTS (the other side of send_fd). */
static int recv_fd(int sock)
{
	char name[256];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/*
 * `run -t` without --console-socket (runc does the same): take the pty master
 * the init sends, put our terminal in raw mode, and copy bytes both ways —
 * stdin to the master, the master to stdout — passing window size changes on,
 * until the init exits. Returns its wait status.
 */
static int relay_console(pid_t child)
{
	int master = recv_fd(relay_parent);
	close(relay_parent);
	struct termios saved, raw;
	int is_tty = master >= 0 && isatty(0) && tcgetattr(0, &saved) == 0;
	if (is_tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		copy_winsize(0, master);
	}
	int status = 0, done = 0, in_open = master >= 0;
	char buf[16384];
	while (!done) {
		struct pollfd p[2] = { { .fd = in_open ? 0 : -1, .events = POLLIN }, { .fd = master, .events = POLLIN } };
		int n = poll(p, 2, 100);
		if (got_winch && is_tty) {
			got_winch = 0;
			copy_winsize(0, master);
		}
		if (n > 0 && (p[0].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0)
				in_open = 0;
			else
				write_all(master, buf, (size_t)r);
		}
		if (n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(master, buf, sizeof(buf));
			if (r > 0)
				write_all(1, buf, (size_t)r);
			else if (r < 0 && errno == EIO)
				master = -1; /* the last slave closed */
		}
		if (waitpid(child, &status, WNOHANG) == child)
			done = 1;
	}
	if (master >= 0) {
		/* Whatever the process wrote last. */
		ssize_t r;
		while ((r = read(master, buf, sizeof(buf))) > 0)
			write_all(1, buf, (size_t)r);
	}
	if (is_tty)
		tcsetattr(0, TCSANOW, &saved);
	return status;
}

/*
 * FORK: the new pid namespace (and time namespace) take effect in children
 * only, so the container's init is a child. With FORK_DETACH the parent leaves
 * and the init is re-parented to the caller's subreaper, as in runc create;
 * with FORK_WAIT the parent stays and mirrors the init's exit (code, or
 * 128+signal). It catches signals without acting on them: the runtime
 * forwards signals to the init itself, and a ^C on the terminal must not make
 * this process exit before the init. With a console relay it also carries
 * the container's terminal.
 */
static void do_fork(uint64_t mode)
{
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, "", "fork");
	if (pid == 0) {
		if (relay_parent >= 0)
			close(relay_parent);
		return;
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "{\"type\":\"pid\",\"pid\":%d}", pid);
	sync_send(msg);
	if (mode == FORK_DETACH)
		_exit(0);
	/* The child keeps the sync socket; the runtime must see EOF when it is done. */
	close(sync_fd);
	sync_fd = -1;
	struct sigaction sa = { .sa_handler = note_signal };
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	int status;
	if (relay_parent >= 0) {
		close(relay_child);
		status = relay_console(pid);
	} else {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				_exit(255);
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

/* ------------------------------------------------------------------ steps */

/* mkdir -p: every missing component, with mode; an existing directory is fine. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat st;
	if (strlen(path) >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	strcpy(buf, path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (stat(path, &st) < 0)
		return -1;
	return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
}

/*
 * Copies a directory's entries (files, directories, symlinks, device nodes and
 * fifos, with their modes and owners) from one open directory to another:
 * runc's tmpcopyup, done through fds because the source is hidden under the
 * new mount by then.
 */
static void copy_tree(int from, int to, const char *what)
{
	int dupfd = dup(from);
	DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
	if (!d)
		fail(errno, what, "read the directory to copy up");
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fail(errno, e->d_name, "stat while copying up");
		mode_t perm = st.st_mode & 07777;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, e->d_name, perm) < 0 && errno != EEXIST)
				fail(errno, e->d_name, "mkdir while copying up");
			int sub_from = openat(from, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int sub_to = openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || sub_to < 0)
				fail(errno, e->d_name, "open while copying up");
			copy_tree(sub_from, sub_to, e->d_name);
			close(sub_from);
			close(sub_to);
		} else if (S_ISLNK(st.st_mode)) {
			char link[PATH_MAX];
			ssize_t n = readlinkat(from, e->d_name, link, sizeof(link) - 1);
			if (n < 0)
				fail(errno, e->d_name, "readlink while copying up");
			link[n] = '\0';
			if (symlinkat(link, to, e->d_name) < 0)
				fail(errno, e->d_name, "symlink while copying up");
		} else if (S_ISREG(st.st_mode)) {
			int in = openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, perm);
			if (in < 0 || out < 0)
				fail(errno, e->d_name, "open while copying up");
			char buf[65536];
			ssize_t n;
			while ((n = read(in, buf, sizeof(buf))) > 0)
				if (write(out, buf, (size_t)n) != n)
					fail(errno, e->d_name, "write while copying up");
			if (n < 0)
				fail(errno, e->d_name, "read while copying up");
			close(in);
			close(out);
		} else if (mknodat(to, e->d_name, st.st_mode, st.st_rdev) < 0) {
			fail(errno, e->d_name, "mknod while copying up");
		}
		if (fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			fail(errno, e->d_name, "chown while copying up");
		if (!S_ISLNK(st.st_mode) && fchmodat(to, e->d_name, perm, 0) < 0)
			fail(errno, e->d_name, "chmod while copying up");
	}
	closedir(d);
}

/*
 * MOUNT with F_CHECK_TARGET: open the target without following a final
 * symlink, check that /proc/self/fd/N still names the path TypeScript
 * resolved (nothing was swapped for a symlink that leaves the rootfs), and
 * mount onto the fd — runc's approach in mountToRootfs.
 */
static void do_mount(const struct step *s)
{
	const char *src = arg_str_or_null(s, 0), *target = arg_str(s, 1);
	const char *fstype = arg_str_or_null(s, 2), *data = arg_str_or_null(s, 4);
	unsigned long flags = (unsigned long)arg_u64(s, 3);
	char procfd[64], real[PATH_MAX];
	const char *where = target;
	int fd = -1;

	if (s->flags & F_CHECK_TARGET) {
		fd = open(target, O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT && (s->flags & F_IGNORE_ENOENT))
				return;
			fail(errno, target, "open mount target");
		}
		snprintf(procfd, sizeof(procfd), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(procfd, real, sizeof(real) - 1);
		if (n < 0)
			fail(errno, target, "readlink mount target");
		real[n] = '\0';
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISLNK(st.st_mode))
			fail(ELOOP, target, "mount target is a symlink");
		if (strcmp(real, target) != 0)
			fail(EXDEV, target, real); /* detail: where it really points */
		where = procfd;
	}
	/* tmpcopyup: the directory under the mount stays reachable through this fd. */
	int below = -1;
	if (s->flags & F_COPY_UP) {
		below = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (below < 0)
			fail(errno, target, "open the directory to copy up");
	}
	if (mount(src, where, fstype, flags, data) < 0) {
		if (errno == ENOENT && (s->flags & F_IGNORE_ENOENT)) {
			if (fd >= 0)
				close(fd);
			if (below >= 0)
				close(below);
			return;
		}
		fail(errno, target, src ? src : "");
	}
	if (below >= 0) {
		int above = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (above < 0)
			fail(errno, target, "open the new mount");
		copy_tree(below, above, target);
		close(above);
		close(below);
	}
	if (fd >= 0)
		close(fd);
}

/* runc's pivotRoot: pivot_root(".", ".") then detach the old root from under us. */
static void do_pivot_root(const char *rootfs)
{
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		fail(errno, "/", "open old root");
	int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (newroot < 0)
		fail(errno, rootfs, "open new root");
	if (fchdir(newroot) < 0)
		fail(errno, rootfs, "fchdir new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail(errno, rootfs, "pivot_root");
	if (fchdir(oldroot) < 0)
		fail(errno, rootfs, "fchdir old root");
	/* Make the old root rslave so that unmounting it does not reach the host. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail(errno, rootfs, "make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		fail(errno, rootfs, "unmount old root");
	if (chdir("/") < 0)
		fail(errno, "/", "chdir");
	close(oldroot);
	close(newroot);
}

/* runc's msMoveRoot, simplified: move the rootfs mount onto / and chroot into it. */
static void do_move_root(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		fail(errno, rootfs, "chdir");
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		fail(errno, rootfs, "move rootfs onto /");
	if (chroot(".") < 0)
		fail(errno, rootfs, "chroot");
	if (chdir("/") < 0)
		fail(errno, "/", "chdir");
}

/* SCM_RIGHTS send of one fd with some data (console sockets, seccomp notify listeners). */
static int send_fd(int sock, int fd, const char *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len ? len : 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

/* CONSOLE: a pty made inside the container; its master goes over the console socket. */
static void do_console(int sock, unsigned short rows, unsigned short cols)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fail(errno, "/dev/ptmx", "open");
	int unlock = 0, n = -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fail(errno, "/dev/ptmx", "unlockpt");
	if (ioctl(master, TIOCGPTN, &n) < 0)
		fail(errno, "/dev/ptmx", "ptsname");
	char slave_path[64];
	snprintf(slave_path, sizeof(slave_path), "/dev/pts/%d", n);
	int slave = open(slave_path, O_RDWR | O_NOCTTY);
	if (slave < 0)
		fail(errno, slave_path, "open pty slave");
	if (rows && cols) {
		/* process.consoleSize, as runc's setupConsole. */
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			fail(errno, slave_path, "set console size");
	}

	/* runc's utils.SendFd: the name as data, the fd as SCM_RIGHTS. */
	if (send_fd(sock, master, "/dev/ptmx", strlen("/dev/ptmx")) < 0)
		fail(errno, "console socket", "send pty master");
	close(master);
	close(sock);

	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			fail(errno, slave_path, "dup2");
	if (slave > 2)
		close(slave);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		fail(errno, slave_path, "TIOCSCTTY");
}

/* runc's maskPath: /dev/null over a file, a read-only tmpfs over a directory. */
static void do_mask(const char *path)
{
	if (mount("/dev/null", path, NULL, MS_BIND, NULL) == 0 || errno == ENOENT)
		return;
	if (errno != ENOTDIR)
		fail(errno, path, "mask");
	if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
		fail(errno, path, "mask directory");
}

/* runc's readonlyPath: a recursive bind of the path onto itself, remounted read-only. */
static void do_readonly(const char *path)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return;
		fail(errno, path, "bind");
	}
	struct statfs st;
	if (statfs(path, &st) < 0)
		fail(errno, path, "statfs");
	unsigned long keep = (unsigned long)st.f_flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (mount(path, path, NULL, keep | MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		fail(errno, path, "remount read-only");
}

/* runc's setReadonly: remount read-only; retry with the current flags if locked. */
static void do_remount_ro(const char *path)
{
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) == 0)
		return;
	struct statfs st;
	if (statfs(path, &st) < 0)
		fail(errno, path, "statfs");
	if (mount(NULL, path, NULL, (unsigned long)st.f_flags | MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		fail(errno, path, "remount read-only");
}

static void do_lo_up(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		fail(errno, "lo", "socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		fail(errno, "lo", "SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		fail(errno, "lo", "SIOCSIFFLAGS");
	close(sock);
}

static void do_caps(uint64_t eff, uint64_t perm, uint64_t inh, uint64_t amb)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail(errno, "", "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(errno, "", "clear ambient capabilities");
	for (int cap = 0; cap < 64; cap++) {
		if (!(amb & (1ull << cap)))
			continue;
		/* As gocapability: EINVAL (kernel without ambient caps) is ignored. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EINVAL)
			fail(errno, "", "raise ambient capability");
	}
}

static void do_cap_bounding(uint64_t keep)
{
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			fail(errno, "", "drop bounding capability");
		}
	}
}

/* Hooks run by the init itself (createContainer, startContainer): state JSON on stdin. */
static void do_hook(const struct step *s)
{
	const char *path = arg_str(s, 0);
	char **argv = arg_list(s, 1), **envp = arg_list(s, 2);
	uint64_t timeout = arg_u64(s, 3);
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		fail(errno, path, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, path, "fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execve(path, argv[0] ? argv : (char *[]){ (char *)path, NULL }, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (s->flags & F_SYNC_STDIN) {
		uint64_t slot = arg_u64(s, 4);
		if (slot >= SYNC_SLOTS)
			fail(EINVAL, path, "sync slot out of range");
		write_all(in[1], sync_data[slot] ? sync_data[slot] : "", sync_len[slot]);
	}
	close(in[1]);

	char output[2048];
	size_t got = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int status = 0, done = 0, out_open = 1;
	while (!done) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (timeout && elapsed_ms >= (long)timeout * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail(ETIMEDOUT, path, "timeout");
		}
		if (out_open) {
			struct pollfd p = { .fd = out[0], .events = POLLIN };
			if (poll(&p, 1, 10) > 0) {
				char tmp[512];
				ssize_t r = read(out[0], tmp, sizeof(tmp));
				if (r <= 0)
					out_open = 0;
				else if (got < sizeof(output) - 1) {
					size_t take = (size_t)r < sizeof(output) - 1 - got ? (size_t)r : sizeof(output) - 1 - got;
					memcpy(output + got, tmp, take);
					got += take;
				}
			}
		} else {
			usleep(1000);
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			done = 1;
	}
	close(out[0]);
	output[got] = '\0';
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	char detail[2300];
	snprintf(detail, sizeof(detail), "%s %d%s%s", WIFSIGNALED(status) ? "signal" : "exit status",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), got ? ", output: " : "", output);
	fail(ECANCELED, path, detail);
}

/*
 * SECCOMP: load the BPF program TypeScript compiled. With a listener (an
 * already-connected socket), the notify fd goes to it over SCM_RIGHTS with
 * the container process state (a SYNC slot) as data, as runc does.
 */
static void do_seccomp(const struct step *s)
{
	if (s->nargs < 4 || s->args[0].len % sizeof(struct sock_filter) != 0 || s->args[0].len == 0)
		fail(EINVAL, "", "seccomp program is not a whole number of instructions");
	struct sock_filter *insns = malloc(s->args[0].len);
	if (!insns)
		fail(ENOMEM, "", "seccomp");
	memcpy(insns, s->args[0].data, s->args[0].len);
	struct sock_fprog prog = { .len = (unsigned short)(s->args[0].len / sizeof(struct sock_filter)), .filter = insns };
	uint64_t flags = arg_u64(s, 1), listener = arg_u64(s, 2), slot = arg_u64(s, 3);
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned int)flags, &prog);
	if (fd < 0)
		fail(errno, "", "load seccomp filter");
	if (listener != UINT64_MAX && fd > 0) {
		if (slot >= SYNC_SLOTS || !sync_data[slot])
			fail(EINVAL, "seccomp listener", "no container state to send");
		if (send_fd((int)listener, (int)fd, sync_data[slot], sync_len[slot]) < 0)
			fail(errno, "seccomp listener", "send notify fd");
		close((int)fd);
		close((int)listener);
	}
	free(insns);
}

static void do_close_fds(int first)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		fail(errno, "/proc/self/fd", "opendir");
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd < first || fd == dfd)
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
	closedir(d);
}

/* LOOKUP: resolve the binary before the exec fifo, so a typo fails `create`, not `start`. */
static void do_lookup(const struct step *s)
{
	const char *name = arg_str(s, 0), *path = arg_str(s, 1);
	struct stat st;
	if (strchr(name, '/') || !(s->flags & F_SEARCH_PATH)) {
		if (stat(name, &st) < 0)
			fail(errno, name, "stat");
		if (!S_ISREG(st.st_mode) || access(name, X_OK) < 0)
			fail(EACCES, name, "not an executable file");
		snprintf(exec_path, sizeof(exec_path), "%s", name);
		return;
	}
	char dir[PATH_MAX];
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t n = (size_t)(end - p);
		if (n == 0)
			snprintf(dir, sizeof(dir), "./%s", name); /* empty entry means the cwd */
		else
			snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, p, name);
		if (stat(dir, &st) == 0 && S_ISREG(st.st_mode) && access(dir, X_OK) == 0) {
			snprintf(exec_path, sizeof(exec_path), "%s", dir);
			return;
		}
		if (*end == '\0')
			break;
		p = end;
	}
	fail(ENOENT, name, "executable file not found in $PATH");
}

/*
 * BPF_DEVICES: attach a cgroup v2 device filter, as runc's
 * libcontainer/cgroups/ebpf/ebpf_linux.go LoadAttachCgroupDeviceFilter.
 * The program (struct bpf_insn array) and its license come from TypeScript
 * (runtime/src/cgroups/devices/filter.ts). Steps: note the filters attached
 * now (BPF_PROG_QUERY), load ours (BPF_PROG_LOAD, CGROUP_DEVICE), attach it
 * with BPF_F_ALLOW_MULTI, then detach the old ones. Between attach and detach
 * both apply, which only ever denies more. The attachment outlives this process.
 */
static void do_bpf_devices(const struct step *s)
{
	const char *dir = arg_str(s, 0), *license = arg_str(s, 2);
	uint32_t len = s->nargs > 1 ? s->args[1].len : 0;
	if (len == 0 || len % sizeof(struct bpf_insn) != 0)
		fail(EINVAL, dir, "device filter is not a whole number of bpf instructions");
	/* Kernels before 5.11 charge BPF programs to RLIMIT_MEMLOCK (runc #2167). */
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &rl);
	int dirfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dirfd < 0)
		fail(errno, dir, "open cgroup directory");

	uint32_t old_ids[64]; /* BPF_CGROUP_MAX_PROGS */
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)dirfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
	a.query.prog_cnt = 64;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)) < 0)
		fail(errno, dir, "BPF_PROG_QUERY");
	uint32_t nold = a.query.prog_cnt;

	struct bpf_insn *insns = malloc(len);
	if (!insns)
		fail(ENOMEM, dir, "bpf program");
	memcpy(insns, s->args[1].data, len);
	static char verifier_log[8192];
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insn_cnt = len / sizeof(struct bpf_insn);
	a.insns = (uint64_t)(uintptr_t)insns;
	a.license = (uint64_t)(uintptr_t)license;
	int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (prog < 0) {
		/* Load again with the verifier's log, to say why. */
		int err = errno;
		a.log_buf = (uint64_t)(uintptr_t)verifier_log;
		a.log_size = sizeof(verifier_log);
		a.log_level = 1;
		if (syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a)) < 0 && errno != ENOSPC)
			err = errno;
		fail(err, dir, verifier_log[0] ? verifier_log : "BPF_PROG_LOAD");
	}
	free(insns);

	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)dirfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
		fail(errno, dir, "BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)");

	for (uint32_t i = 0; i < nold; i++) {
		memset(&a, 0, sizeof(a));
		a.prog_id = old_ids[i];
		int old = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
		/* Gone already, or guarded by an LSM (runc skips those too). */
		if (old < 0 && (errno == ENOENT || errno == EPERM || errno == EACCES))
			continue;
		if (old < 0)
			fail(errno, dir, "BPF_PROG_GET_FD_BY_ID");
		memset(&a, 0, sizeof(a));
		a.target_fd = (uint32_t)dirfd;
		a.attach_bpf_fd = (uint32_t)old;
		a.attach_type = BPF_CGROUP_DEVICE;
		if (syscall(SYS_bpf, BPF_PROG_DETACH, &a, sizeof(a)) < 0 && errno != ENOENT)
			fail(errno, dir, "BPF_PROG_DETACH of an old device filter");
		close(old);
	}
	close(prog);
	close(dirfd);
	logf_("debug", "attached a device filter of %u instructions to %s, replacing %u", len / 8, dir, nold);
}

static void run_step(const struct step *s)
{
	switch (s->kind) {
	case STEP_UNSHARE:
		if (unshare((int)arg_u64(s, 0)) < 0)
			fail(errno, "", "unshare");
		break;
	case STEP_SETNS: {
		const char *path = arg_str(s, 0);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(errno, path, "open namespace");
		if (setns(fd, (int)arg_u64(s, 1)) < 0)
			fail(errno, path, "setns");
		close(fd);
		break;
	}
	case STEP_SYNC:
		sync_ask(arg_str(s, 0), arg_u64(s, 1));
		break;
	case STEP_REPORT: {
		char msg[512];
		size_t n = (size_t)snprintf(msg, sizeof(msg), "{\"type\":\"report\",\"name\":\"");
		n = json_escape(msg, sizeof(msg) - 40, n, arg_str(s, 0));
		snprintf(msg + n, sizeof(msg) - n, "\",\"pid\":%d}", getpid());
		sync_send(msg);
		break;
	}
	case STEP_FORK:
		do_fork(arg_u64(s, 0));
		break;
	case STEP_MOUNT:
		do_mount(s);
		break;
	case STEP_MKDIR:
		if (mkdir_p(arg_str(s, 0), (mode_t)arg_u64(s, 1)) < 0)
			fail(errno, arg_str(s, 0), "mkdir");
		break;
	case STEP_MKFILE: {
		int fd = open(arg_str(s, 0), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, (mode_t)arg_u64(s, 1));
		if (fd < 0 && errno != EISDIR)
			fail(errno, arg_str(s, 0), "create file");
		if (fd >= 0)
			close(fd);
		break;
	}
	case STEP_MKNOD: {
		const char *path = arg_str(s, 0);
		mode_t old = umask(0);
		int r = mknod(path, (mode_t)arg_u64(s, 1), (dev_t)arg_u64(s, 2));
		umask(old);
		if (r < 0 && errno != EEXIST)
			fail(errno, path, "mknod");
		if (r == 0 && chown(path, (uid_t)arg_u64(s, 3), (gid_t)arg_u64(s, 4)) < 0)
			fail(errno, path, "chown");
		break;
	}
	case STEP_SYMLINK:
		if (symlink(arg_str(s, 0), arg_str(s, 1)) < 0 && errno != EEXIST)
			fail(errno, arg_str(s, 1), "symlink");
		break;
	case STEP_WRITE_FILE: {
		const char *path = arg_str(s, 0);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			if ((errno == ENOENT && (s->flags & F_IGNORE_ENOENT)) ||
			    ((errno == EPERM || errno == EACCES) && (s->flags & F_IGNORE_EPERM)))
				break;
			fail(errno, path, "open");
		}
		/* One write() call: proc files take their value in one go. */
		size_t len = s->args[1].len ? s->args[1].len - 1 : 0;
		if (write(fd, s->args[1].data, len) != (ssize_t)len) {
			if ((errno == EPERM || errno == EACCES) && (s->flags & F_IGNORE_EPERM))
				break;
			fail(errno, path, "write");
		}
		close(fd);
		break;
	}
	case STEP_CHDIR:
		if (chdir(arg_str(s, 0)) < 0)
			fail(errno, arg_str(s, 0), "chdir");
		break;
	case STEP_PIVOT_ROOT:
		do_pivot_root(arg_str(s, 0));
		break;
	case STEP_MOVE_ROOT:
		do_move_root(arg_str(s, 0));
		break;
	case STEP_SETHOSTNAME:
		if (sethostname(arg_str(s, 0), strlen(arg_str(s, 0))) < 0)
			fail(errno, arg_str(s, 0), "sethostname");
		break;
	case STEP_SETDOMAINNAME:
		if (setdomainname(arg_str(s, 0), strlen(arg_str(s, 0))) < 0)
			fail(errno, arg_str(s, 0), "setdomainname");
		break;
	case STEP_SETRLIMIT: {
		struct rlimit rl = { .rlim_cur = arg_u64(s, 1), .rlim_max = arg_u64(s, 2) };
		if (setrlimit((int)arg_u64(s, 0), &rl) < 0) {
			char what[32];
			snprintf(what, sizeof(what), "%d", (int)arg_u64(s, 0));
			fail(errno, what, "setrlimit");
		}
		break;
	}
	case STEP_PRCTL:
		if (prctl((int)arg_u64(s, 0), (unsigned long)arg_u64(s, 1), 0, 0, 0) < 0)
			fail(errno, "", "prctl");
		break;
	case STEP_PERSONALITY:
		if (personality((unsigned long)arg_u64(s, 0)) < 0)
			fail(errno, "", "personality");
		break;
	case STEP_IOPRIO:
		if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)arg_u64(s, 0)) < 0)
			fail(errno, "", "ioprio_set");
		break;
	case STEP_SCHED: {
		struct {
			uint32_t size, policy;
			uint64_t flags;
			int32_t nice;
			uint32_t priority;
			uint64_t runtime, deadline, period;
		} attr = { sizeof(attr), (uint32_t)arg_u64(s, 0), arg_u64(s, 1), (int32_t)arg_u64(s, 2),
			   (uint32_t)arg_u64(s, 3), arg_u64(s, 4), arg_u64(s, 5), arg_u64(s, 6) };
		if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
			fail(errno, "", "sched_setattr");
		break;
	}
	case STEP_SETSID:
		if (setsid() < 0)
			fail(errno, "", "setsid");
		break;
	case STEP_CONSOLE: {
		/* ~0 as the fd: the relay socket of a CONSOLE_RELAY step (run -t in the foreground). */
		uint64_t fd = arg_u64(s, 0);
		if (fd == UINT64_MAX && relay_child < 0)
			fail(EINVAL, "", "no console relay");
		do_console(fd == UINT64_MAX ? relay_child : (int)fd, (unsigned short)arg_u64(s, 1), (unsigned short)arg_u64(s, 2));
		break;
	}
	case STEP_CONSOLE_RELAY: {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			fail(errno, "", "socketpair");
		relay_parent = sp[0];
		relay_child = sp[1];
		break;
	}
	case STEP_KEYRING: {
		/* runc's standard_init: a new session keyring, so the host's is not inherited. */
		long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, arg_str(s, 0));
		if (key < 0) {
			if (errno == ENOSYS)
				break; /* as runc: a kernel without keyrings is fine */
			fail(errno, arg_str(s, 0), "join session keyring");
		}
		if (arg_u64(s, 1) == 0)
			break; /* exec joins the container's keyring as it is */
		/* keys.ModKeyringPerm: keep the current permissions, add the given bits. */
		char desc[512];
		long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, desc, sizeof(desc) - 1);
		if (n < 0)
			fail(errno, arg_str(s, 0), "keyctl describe");
		desc[n < (long)sizeof(desc) ? n : (long)sizeof(desc) - 1] = '\0';
		/* "type;uid;gid;perm;description": perm is the fourth field, in hex. */
		char *p = desc;
		for (int i = 0; i < 3 && p; i++)
			p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL;
		if (!p)
			fail(EINVAL, arg_str(s, 0), "unexpected keyctl description");
		unsigned long perm = strtoul(p, NULL, 16) | (unsigned long)arg_u64(s, 1);
		if (syscall(SYS_keyctl, KEYCTL_SETPERM, key, perm) < 0)
			fail(errno, arg_str(s, 0), "keyctl setperm");
		break;
	}
	case STEP_MOUNT_SETATTR: {
		/* Recursive mount attributes ("rro", "rnosuid", ...), runc 1.1's mount_setattr use. */
		struct {
			uint64_t attr_set, attr_clr, propagation, userns_fd;
		} attr = { arg_u64(s, 1), arg_u64(s, 2), 0, 0 };
		if (syscall(SYS_mount_setattr, AT_FDCWD, arg_str(s, 0), AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			fail(errno, arg_str(s, 0), "mount_setattr");
		break;
	}
	case STEP_LO_UP:
		do_lo_up();
		break;
	case STEP_MASK:
		do_mask(arg_str(s, 0));
		break;
	case STEP_READONLY:
		do_readonly(arg_str(s, 0));
		break;
	case STEP_REMOUNT_RO:
		do_remount_ro(arg_str(s, 0));
		break;
	case STEP_SETGROUPS: {
		size_t n = s->args[0].len / sizeof(gid_t);
		gid_t *gids = calloc(n ? n : 1, sizeof(gid_t));
		if (!gids)
			fail(ENOMEM, "", "setgroups");
		memcpy(gids, s->args[0].data, n * sizeof(gid_t));
		if (setgroups(n, gids) < 0)
			fail(errno, "", "setgroups");
		free(gids);
		break;
	}
	case STEP_SETRESGID: {
		gid_t g = (gid_t)arg_u64(s, 0);
		if (setresgid(g, g, g) < 0)
			fail(errno, "", "setresgid");
		break;
	}
	case STEP_SETRESUID: {
		uid_t u = (uid_t)arg_u64(s, 0);
		if (setresuid(u, u, u) < 0)
			fail(errno, "", "setresuid");
		break;
	}
	case STEP_CAP_BOUNDING:
		do_cap_bounding(arg_u64(s, 0));
		break;
	case STEP_CAPS:
		do_caps(arg_u64(s, 0), arg_u64(s, 1), arg_u64(s, 2), arg_u64(s, 3));
		break;
	case STEP_UMASK:
		umask((mode_t)arg_u64(s, 0));
		break;
	case STEP_OPEN_FIFO:
		fifo_fd = open(arg_str(s, 0), O_PATH | O_CLOEXEC);
		if (fifo_fd < 0)
			fail(errno, arg_str(s, 0), "open exec fifo");
		break;
	case STEP_WAIT_FIFO: {
		/*
		 * Closing the sync socket tells the runtime that setup is complete
		 * (runc closes its init pipe here too). Then block until `start`
		 * opens the other end of the fifo; one byte says "go".
		 */
		if (sync_fd >= 0) {
			close(sync_fd);
			sync_fd = -1;
		}
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fifo_fd);
		int fd = open(p, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			fail(errno, "exec.fifo", "open for writing");
		if (write(fd, "0", 1) != 1)
			fail(errno, "exec.fifo", "write");
		/*
		 * The write end stays open (it is close-on-exec): `start` reads EOF
		 * exactly when the container's process has been exec'd, after the
		 * startContainer hooks, and only then runs the poststart hooks.
		 */
		close(fifo_fd);
		fifo_fd = -1;
		break;
	}
	case STEP_HOOK:
		do_hook(s);
		break;
	case STEP_SECCOMP:
		do_seccomp(s);
		break;
	case STEP_CLOSE_FDS:
		do_close_fds((int)arg_u64(s, 0));
		break;
	case STEP_LOOKUP:
		do_lookup(s);
		break;
	case STEP_EXEC: {
		char **argv = arg_list(s, 0), **envp = arg_list(s, 1);
		const char *path = exec_path[0] ? exec_path : argv[0];
		execve(path, argv, envp);
		fail(errno, path, "execve");
	}
	case STEP_DUP_STDIO: {
		int fd = open(arg_str(s, 0), O_RDWR);
		if (fd < 0)
			fail(errno, arg_str(s, 0), "open");
		for (int i = 0; i < 3; i++)
			if (dup2(fd, i) < 0)
				fail(errno, arg_str(s, 0), "dup2");
		if (fd > 2)
			close(fd);
		break;
	}
	case STEP_BPF_DEVICES:
		do_bpf_devices(s);
		break;
	default:
		fail(EINVAL, "", "unknown step kind");
	}
}

static int parse_fd(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return (*s && !*end && v >= 0 && v < INT_MAX) ? (int)v : -1;
}

int shim_main(int argc, char **argv); /* shim.c: containerd-shim-berth-v2's native needs */

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "shim-reaper") == 0 || strcmp(argv[1], "shim-mount") == 0))
		return shim_main(argc, argv);
	if (argc == 5 && strcmp(argv[1], "init") == 0) {
		int plan_fd = parse_fd(argv[2]);
		sync_fd = parse_fd(argv[3]);
		log_fd = parse_fd(argv[4]);
		if (plan_fd < 0 || sync_fd < 0 || log_fd < 0) {
			fprintf(stderr, "berth-nsexec: bad fd arguments\n");
			return 2;
		}
		/* None of our own fds may reach the container's process. */
		fcntl(plan_fd, F_SETFD, FD_CLOEXEC);
		fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
		fcntl(log_fd, F_SETFD, FD_CLOEXEC);
		read_plan(plan_fd);
		close(plan_fd);
		for (uint32_t i = 0; i < nsteps; i++) {
			current_step = (int)i;
			run_step(&steps[i]);
		}
		_exit(0);
	}
	fprintf(stderr, "usage: berth-nsexec init PLAN_FD SYNC_FD LOG_FD\n"
			"berth-nsexec is started by berth-runtime; it is not meant to be run by hand.\n");
	return 2;
}
