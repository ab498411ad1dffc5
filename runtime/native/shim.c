/*
 * berth-nsexec shim-* — what containerd-shim-berth-v2 cannot do in Node.
 *
 * Node cannot set PR_SET_CHILD_SUBREAPER, wait for pids it did not spawn,
 * receive a pty master over SCM_RIGHTS, make a FIFO, or mount. This file
 * adds two entry points to the one native binary; every decision (paths,
 * modes, flags, retries, what an exit status means) stays in TypeScript
 * (shim/src/native/).
 *
 *   berth-nsexec shim-reaper LISTEN_PATH LISTEN_FD CTL_FD -- PROGRAM [ARG]...
 *
 *   The long-lived shim's parent and its containers' subreaper. It
 *     1. becomes a child subreaper, so that container processes whose parent
 *        (runc create / runc exec) exits are reparented to it;
 *     2. binds and listens on LISTEN_PATH (the ttrpc socket) and reports
 *        "ok PID\n" or "error ERRNO MESSAGE\n" on stdout, then closes stdout;
 *     3. waits for EOF on stdin (the starter moves it into a cgroup and sets
 *        its OOM score first, so that the Node child inherits both);
 *     4. runs PROGRAM (Node running the shim) as its child, with the listener
 *        on LISTEN_FD and one end of a socketpair (the control channel) on
 *        CTL_FD;
 *     5. then loops: reaps every child with waitpid(-1) and reports each exit
 *        on the control channel; serves the control requests below; relays
 *        bytes between pty masters and unix sockets; forwards SIGTERM/SIGINT
 *        to PROGRAM; exits with PROGRAM's status when PROGRAM exits —
 *     6. unless PROGRAM asked to hibernate first: an idle server hands its
 *        connections and stdio fds over (stash) and exits, and the reaper
 *        holds them, queues the exits it reaps, and runs PROGRAM again —
 *        with the stash placed from fd 5 up, named in BERTH_SHIM_RESUME
 *        ("NAME=FD ...") — as soon as the listener, a watched fd or a
 *        reaped child (or SIGTERM/SIGINT, passed on in BERTH_SHIM_SIGNAL)
 *        needs it.
 *
 *   Control channel messages, both ways: u32 length (little-endian), then
 *   that many bytes of NUL-terminated string fields.
 *     Node → C  pipe TAG                       pipe2(2); Node opens both ends as
 *                                              /proc/REAPER/fd/N (its own open file
 *                                              descriptions, so O_NONBLOCK stays
 *                                              private), then asks to close them
 *               pipe-close TAG R W             close a pipe made by `pipe`
 *               console TAG CTAG SOCK RELAY    listen on SOCK (the runtime's
 *                                              --console-socket); take the pty
 *                                              master it sends, connect to
 *                                              RELAY and relay bytes both ways
 *               resize TAG CTAG COLS ROWS      TIOCSWINSZ on CTAG's master
 *               console-close TAG CTAG         drain CTAG's master, close all
 *               stash TAG NAME FD WATCH        take a copy of the server's FD
 *                                              (pidfd_getfd) and keep it as NAME;
 *                                              WATCH 1: wake the server when it
 *                                              is readable or hangs up
 *               unstash TAG                    close every stashed fd; send the
 *                                              exits held back since `hibernate`
 *               hibernate TAG                  the server exits next (status 0):
 *                                              keep the stash and sleep instead
 *                                              of exiting
 *               oom-watch TAG NAME v1|v2 DIR   watch the memory cgroup DIR for
 *                                              the OOM killer (v1: an eventfd on
 *                                              memory.oom_control; v2: inotify
 *                                              on memory.events, reported when
 *                                              its oom_kill count goes up)
 *               oom-unwatch TAG NAME           stop watching
 *     C → Node  ok TAG [R W] | err TAG ERRNO   the reply to a request
 *               exit PID WAITSTATUS SEC NSEC   a reaped child (raw status)
 *               console-closed CTAG ERRNO      a relay ended (0: hang-up; the
 *                                              master stays until console-close)
 *               oom NAME                       NAME's cgroup had an OOM (v2: its
 *                                              oom_kill rose; v1: a notification,
 *                                              which also comes when the cgroup
 *                                              is removed: the server decides)
 *
 *   berth-nsexec shim-mount OP...
 *
 *   One-shot mount(2)/umount2(2) calls in order, stopping at the first
 *   failure, which is reported as "fail INDEX ERRNO\n" on stdout (exit 1):
 *     mount CHDIR SOURCE TARGET FSTYPE FLAGS DATA   (CHDIR "" = none; the
 *                                                    overlay lowerdir trick)
 *     umount TARGET FLAGS
 *
 * Models: conmon's ctr_exit.c / conn_sock.c, containerd's sys/reaper and
 * console epoll copy, go-runc's console socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_FIELDS 8
#define MAX_MSG 8192
#define MAX_CONSOLES 1024
#define RELAY_BUF 32768

struct console {
	unsigned long id;	/* never reused, unlike addresses and fds */
	char tag[64];
	int listen_fd;		/* --console-socket listener, until the master arrives */
	int master;		/* the pty master */
	int relay;		/* connection to the shim's relay socket */
	char relay_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char out[RELAY_BUF];	/* master → relay */
	size_t out_len, out_off;
	char in[RELAY_BUF];	/* relay → master */
	size_t in_len, in_off;
	int master_eof, relay_eof;
};

#define MAX_STASH 256
#define MAX_OOM 1024
#define STASH_BASE 5		/* where a resumed server finds the stash */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

struct stashed {
	char name[64];
	int fd;
	int watch;
};

static struct console *consoles[MAX_CONSOLES];
static char pipe_fd[4096];	/* fds made by `pipe` and not closed yet */
static unsigned long console_seq;
static int ctl = -1;
static pid_t child = -1;
static int child_pidfd = -1;
static struct stashed stash[MAX_STASH];
static int nstash;
static int hibernating;		/* the server said it exits next to hibernate */
static int pending_signal;	/* SIGTERM/SIGINT for a server that is not there (yet) */
struct reaped {
	pid_t pid;
	int status;
	struct timespec at;
};
static struct reaped *exit_queue;	/* exits reaped while no server runs */
static int nqueued;

/* A memory cgroup watched for OOMs (containerd's runc shim: oom_v1.go / oom_v2.go). */
struct oomwatch {
	char name[128];
	int fd;			/* v1: eventfd; v2: inotify */
	int events;		/* v2: DIR/memory.events, reread on each change; v1: -1 */
	long long kills;	/* v2: its oom_kill count last reported */
	int pending;		/* an OOM not yet told to a server */
	int used;		/* the slot holds a watch */
};
/* Static, not malloc'd: a hibernated reaper that never mallocs has no heap
 * (bench/shim counts every page of it). Slots are taken lowest first and only
 * [0, noom) is ever looked at, so the pages beyond stay untouched. */
static struct oomwatch ooms[MAX_OOM];
static int noom;		/* one past the highest slot in use */
static int oom_pending;		/* some watch has `pending` set */

static void flush_queued(void);

/* A server runs and stays: what happens can be told to it now, not queued. */
static int server_listens(void)
{
	return ctl >= 0 && !hibernating;
}

static void unstash_all(void)
{
	for (int i = 0; i < nstash; i++)
		close(stash[i].fd);
	nstash = 0;
}

/* ------------------------------------------------------- control channel */

static void ctl_send(int n, const char *const *fields)
{
	char buf[MAX_MSG];
	uint32_t len = 0;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(fields[i]) + 1;
		if (4 + len + l > sizeof(buf))
			return;
		memcpy(buf + 4 + len, fields[i], l);
		len += (uint32_t)l;
	}
	memcpy(buf, &len, 4);	/* little-endian on every target berth builds for */
	for (size_t off = 0, total = 4 + len; off < total;) {
		ssize_t w = write(ctl, buf + off, total - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* Node is gone; SIGCHLD will tell us */
		off += (size_t)w;
	}
}

static void reply(const char *tag, int err)
{
	char e[16];
	snprintf(e, sizeof(e), "%d", err);
	if (err)
		ctl_send(3, (const char *[]){ "err", tag, e });
	else
		ctl_send(2, (const char *[]){ "ok", tag });
}

/* ---------------------------------------------------------------- consoles */

static int listen_unix(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static struct console *find_console(const char *tag)
{
	for (int i = 0; i < MAX_CONSOLES; i++)
		if (consoles[i] && strcmp(consoles[i]->tag, tag) == 0)
			return consoles[i];
	return NULL;
}

static void console_free(struct console *c, int err)
{
	char e[16];
	snprintf(e, sizeof(e), "%d", err);
	if (c->relay >= 0 || c->listen_fd >= 0)
		ctl_send(3, (const char *[]){ "console-closed", c->tag, e });
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->master >= 0)
		close(c->master);
	if (c->relay >= 0)
		close(c->relay);
	for (int i = 0; i < MAX_CONSOLES; i++)
		if (consoles[i] == c)
			consoles[i] = NULL;
	free(c);
}

/* Takes the master that the runtime sends on the console socket (runc
 * utils.SendFds: one fd in SCM_RIGHTS, its name as data) and connects the relay. */
static void console_accept(struct console *c)
{
	int conn = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	char data[4096];
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	int err = n < 0 ? errno : 0;
	close(conn);
	struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
		console_free(c, err ? err : EBADMSG);
		return;
	}
	memcpy(&c->master, CMSG_DATA(cm), sizeof(int));
	close(c->listen_fd);
	c->listen_fd = -1;

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, c->relay_path);
	c->relay = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->relay < 0 || connect(c->relay, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		console_free(c, errno);
		return;
	}
	fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK);
	fcntl(c->relay, F_SETFL, fcntl(c->relay, F_GETFL) | O_NONBLOCK);
}

/* One step of the relay in each direction that poll found ready. */
static void console_io(struct console *c, short mrev, short rrev)
{
	ssize_t n;
	if ((mrev & (POLLIN | POLLHUP | POLLERR)) && c->out_len == 0 && !c->master_eof) {
		n = read(c->master, c->out, sizeof(c->out));
		if (n > 0) {
			c->out_len = (size_t)n;
			c->out_off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->master_eof = 1;	/* EIO: every slave fd is closed */
		}
	}
	if ((rrev & POLLOUT) && c->out_len > c->out_off) {
		n = write(c->relay, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0)
			c->out_off += (size_t)n;
		else if (errno != EAGAIN && errno != EINTR) {
			console_free(c, errno);
			return;
		}
		if (c->out_off == c->out_len)
			c->out_len = c->out_off = 0;
	}
	if ((rrev & (POLLIN | POLLHUP)) && c->in_len == 0 && !c->relay_eof) {
		n = read(c->relay, c->in, sizeof(c->in));
		if (n > 0) {
			c->in_len = (size_t)n;
			c->in_off = 0;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->relay_eof = 1;	/* the shim closed stdin; it decides when to close */
		}
	} else if ((rrev & (POLLHUP | POLLERR)) && c->relay_eof && c->out_len == 0) {
		console_free(c, 0);	/* the shim is gone from the relay altogether */
		return;
	}
	if ((mrev & POLLOUT) && c->in_len > c->in_off) {
		n = write(c->master, c->in + c->in_off, c->in_len - c->in_off);
		if (n > 0)
			c->in_off += (size_t)n;
		else if (errno != EAGAIN && errno != EINTR)
			c->in_len = c->in_off = 0;	/* the pty is gone: drop stdin */
		if (c->in_off == c->in_len)
			c->in_len = c->in_off = 0;
	}
	if (c->master_eof && c->out_len == 0 && c->relay >= 0) {
		/* Hang-up: the shim sees EOF on the relay. The master stays open
		 * (ResizePty may still come) until console-close. */
		close(c->relay);
		c->relay = -1;
		char e[] = "0";
		ctl_send(3, (const char *[]){ "console-closed", c->tag, e });
	}
}

/* console-close: forward what the master still holds, then close. */
static void console_close(struct console *c)
{
	if (c->master >= 0 && c->relay >= 0) {
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(c->relay, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		fcntl(c->relay, F_SETFL, fcntl(c->relay, F_GETFL) & ~O_NONBLOCK);
		for (;;) {
			if (c->out_len > c->out_off) {
				ssize_t w = write(c->relay, c->out + c->out_off, c->out_len - c->out_off);
				if (w <= 0)
					break;
				c->out_off += (size_t)w;
				continue;
			}
			ssize_t n = read(c->master, c->out, sizeof(c->out));
			if (n <= 0)
				break;
			c->out_len = (size_t)n;
			c->out_off = 0;
		}
	}
	console_free(c, 0);
}

/* ------------------------------------------------------------------ OOMs */

static struct oomwatch *find_oom(const char *name)
{
	for (int i = 0; i < noom; i++)
		if (ooms[i].used && strcmp(ooms[i].name, name) == 0)
			return &ooms[i];
	return NULL;
}

static void oom_free(struct oomwatch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->events >= 0)
		close(w->events);
	w->used = 0;
	while (noom > 0 && !ooms[noom - 1].used)
		noom--;
}

/* memory.events' oom_kill count, or -1 if it cannot be read (cgroup gone). */
static long long oom_kills(int events)
{
	char buf[1024];
	ssize_t n = pread(events, buf, sizeof(buf) - 1, 0);	/* kernfs: each read at 0 is fresh */
	if (n < 0)
		return -1;
	buf[n] = 0;
	const char *k = strstr(buf, "\noom_kill ");	/* never the first line ("low") */
	return k ? atoll(k + 10) : 0;
}

/* Registers the watch; returns 0 or an errno. */
static int oom_watch(struct oomwatch *w, const char *kind, const char *dir)
{
	char p[PATH_MAX];
	if (strcmp(kind, "v1") == 0) {
		/* cgroup-v1/memory.rst "OOM Control": "<eventfd> <fd of memory.oom_control>"
		 * into cgroup.event_control; the kernel keeps its own references. */
		if ((size_t)snprintf(p, sizeof(p), "%s/cgroup.event_control", dir) >= sizeof(p))
			return ENAMETOOLONG;
		w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->fd < 0)
			return errno;
		snprintf(p, sizeof(p), "%s/memory.oom_control", dir);
		int ofd = open(p, O_RDONLY | O_CLOEXEC);
		if (ofd < 0)
			return errno;
		snprintf(p, sizeof(p), "%s/cgroup.event_control", dir);
		int cfd = open(p, O_WRONLY | O_CLOEXEC);
		int err = cfd < 0 ? errno : 0;
		if (cfd >= 0) {
			char line[32];
			int len = snprintf(line, sizeof(line), "%d %d", w->fd, ofd);
			if (write(cfd, line, (size_t)len) != len)
				err = errno;
			close(cfd);
		}
		close(ofd);
		return err;
	}
	if (strcmp(kind, "v2") != 0)
		return EINVAL;
	if ((size_t)snprintf(p, sizeof(p), "%s/memory.events", dir) >= sizeof(p))
		return ENAMETOOLONG;
	w->events = open(p, O_RDONLY | O_CLOEXEC);
	if (w->events < 0)
		return errno;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return errno;
	if (inotify_add_watch(w->fd, p, IN_MODIFY) < 0)
		return errno;
	w->kills = oom_kills(w->events);
	return w->kills < 0 ? ENOENT : 0;
}

static void send_oom(struct oomwatch *w)
{
	ctl_send(2, (const char *[]){ "oom", w->name });
}

/* A watch fired: drain it and tell the server, or keep it for the next one. */
static void oom_fired(struct oomwatch *w)
{
	char buf[4096];
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	if (w->events >= 0) {
		/* v2: memory.events changes on every high/max event too; only a
		 * kill counts (and wakes a sleeping server). */
		long long k = oom_kills(w->events);
		if (k <= w->kills)
			return;
		w->kills = k;
	}
	if (server_listens()) {
		send_oom(w);
		return;
	}
	w->pending = 1;
	oom_pending = 1;
}

/* ------------------------------------------------------------- requests */

static int parse_int(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return (*s && !*end && v >= 0 && v < INT_MAX) ? (int)v : -1;
}

static void handle_request(char *buf, uint32_t len)
{
	const char *f[MAX_FIELDS] = { 0 };
	int n = 0;
	for (uint32_t i = 0; i < len && n < MAX_FIELDS;) {
		f[n++] = buf + i;
		i += (uint32_t)strnlen(buf + i, len - i) + 1;
	}
	if (n < 2)
		return;
	const char *op = f[0], *tag = f[1];

	if (strcmp(op, "pipe") == 0 && n == 2) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			reply(tag, errno);
		} else if (p[0] >= (int)sizeof(pipe_fd) || p[1] >= (int)sizeof(pipe_fd)) {
			close(p[0]);
			close(p[1]);
			reply(tag, EMFILE);
		} else {
			char r[16], w[16];
			snprintf(r, sizeof(r), "%d", p[0]);
			snprintf(w, sizeof(w), "%d", p[1]);
			pipe_fd[p[0]] = pipe_fd[p[1]] = 1;
			ctl_send(4, (const char *[]){ "ok", tag, r, w });
		}
	} else if (strcmp(op, "pipe-close") == 0 && n == 4) {
		int err = 0;
		for (int i = 2; i < 4; i++) {
			int fd = atoi(f[i]);
			if (fd > 0 && fd < (int)sizeof(pipe_fd) && pipe_fd[fd]) {
				pipe_fd[fd] = 0;
				close(fd);
			} else {
				err = EBADF;
			}
		}
		reply(tag, err);
	} else if (strcmp(op, "console") == 0 && n == 5) {
		struct console *c = calloc(1, sizeof(*c));
		int slot = -1;
		for (int i = 0; i < MAX_CONSOLES && slot < 0; i++)
			if (!consoles[i])
				slot = i;
		if (!c || slot < 0 || strlen(f[2]) >= sizeof(c->tag) || strlen(f[4]) >= sizeof(c->relay_path)) {
			free(c);
			reply(tag, c ? ENAMETOOLONG : ENOMEM);
			return;
		}
		c->id = ++console_seq;
		strcpy(c->tag, f[2]);
		strcpy(c->relay_path, f[4]);
		c->master = c->relay = -1;
		c->listen_fd = listen_unix(f[3], 1);
		if (c->listen_fd >= 0)
			fcntl(c->listen_fd, F_SETFL, O_NONBLOCK);
		if (c->listen_fd < 0) {
			reply(tag, errno);
			free(c);
			return;
		}
		consoles[slot] = c;
		reply(tag, 0);
	} else if (strcmp(op, "resize") == 0 && n == 5) {
		struct console *c = find_console(f[2]);
		struct winsize ws = { .ws_col = (unsigned short)atoi(f[3]), .ws_row = (unsigned short)atoi(f[4]) };
		if (!c || c->master < 0)
			reply(tag, ENOENT);
		else
			reply(tag, ioctl(c->master, TIOCSWINSZ, &ws) < 0 ? errno : 0);
	} else if (strcmp(op, "console-close") == 0 && n == 3) {
		struct console *c = find_console(f[2]);
		reply(tag, c ? 0 : ENOENT);
		if (c)
			console_close(c);
	} else if (strcmp(op, "stash") == 0 && n == 5) {
		int fd = parse_int(f[3]);
		if (fd < 0 || strlen(f[2]) >= sizeof(stash[0].name) || strchr(f[2], '=') || strchr(f[2], ' ')) {
			reply(tag, EINVAL);
			return;
		}
		if (nstash == MAX_STASH) {
			reply(tag, EMFILE);
			return;
		}
		int copy = (int)syscall(SYS_pidfd_getfd, child_pidfd, fd, 0);	/* FD_CLOEXEC set */
		if (copy < 0) {
			reply(tag, errno);
			return;
		}
		strcpy(stash[nstash].name, f[2]);
		stash[nstash].fd = copy;
		stash[nstash].watch = strcmp(f[4], "1") == 0;
		nstash++;
		reply(tag, 0);
	} else if (strcmp(op, "unstash") == 0 && n == 2) {
		unstash_all();
		hibernating = 0;
		reply(tag, 0);
		flush_queued();	/* reaped since `hibernate`: the server stays */
		if (pending_signal && child > 0)
			kill(child, pending_signal);	/* held back while it meant to go */
		pending_signal = 0;
	} else if (strcmp(op, "hibernate") == 0 && n == 2) {
		hibernating = 1;
		reply(tag, 0);
	} else if (strcmp(op, "oom-watch") == 0 && n == 5) {
		struct oomwatch *old = find_oom(f[2]);
		if (old)
			oom_free(old);	/* a container id used again */
		struct oomwatch *w = NULL;
		for (int i = 0; i <= noom && i < MAX_OOM && !w; i++)
			if (!ooms[i].used)
				w = &ooms[i];
		if (!w || strlen(f[2]) >= sizeof(w->name)) {
			reply(tag, w ? ENAMETOOLONG : EMFILE);
			return;
		}
		memset(w, 0, sizeof(*w));
		if (w - ooms == noom)
			noom++;
		strcpy(w->name, f[2]);
		w->fd = w->events = -1;
		w->used = 1;
		int err = oom_watch(w, f[3], f[4]);
		if (err)
			oom_free(w);	/* closes what it opened, frees the slot */
		reply(tag, err);
	} else if (strcmp(op, "oom-unwatch") == 0 && n == 3) {
		struct oomwatch *w = find_oom(f[2]);
		reply(tag, w ? 0 : ENOENT);
		if (w)
			oom_free(w);
	} else {
		reply(tag, EINVAL);
	}
}

/* Reads what is available on the control channel; returns -1 at EOF. */
static int read_ctl(void)
{
	static char buf[2 * MAX_MSG];
	static size_t have;
	ssize_t n = read(ctl, buf + have, sizeof(buf) - have);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	have += (size_t)n;
	for (;;) {
		uint32_t len;
		if (have < 4)
			break;
		memcpy(&len, buf, 4);
		if (len > MAX_MSG)
			return -1;	/* a broken peer; nothing sane to do */
		if (have < 4 + len)
			break;
		handle_request(buf + 4, len);
		memmove(buf, buf + 4 + len, have - 4 - len);
		have -= 4 + len;
	}
	return 0;
}

/* ---------------------------------------------------------------- reaping */

/* "exit PID WAITSTATUS SEC NSEC" to the server. */
static void send_exit(const struct reaped *e)
{
	char p[16], s[16], sec[24], nsec[16];
	snprintf(p, sizeof(p), "%d", e->pid);
	snprintf(s, sizeof(s), "%d", e->status);
	snprintf(sec, sizeof(sec), "%lld", (long long)e->at.tv_sec);
	snprintf(nsec, sizeof(nsec), "%ld", e->at.tv_nsec);
	ctl_send(5, (const char *[]){ "exit", p, s, sec, nsec });
}

/* Reaps every exited child; returns 1 once PROGRAM itself has exited. */
static int reap(int *child_status)
{
	int st, done = 0;
	pid_t pid;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == child) {
			*child_status = st;
			done = 1;
			continue;
		}
		struct reaped e = { .pid = pid, .status = st };
		clock_gettime(CLOCK_REALTIME, &e.at);
		if (server_listens()) {
			send_exit(&e);
			continue;
		}
		/* No server runs, or it is about to exit (hibernate): keep the exit
		 * for the next one, which it wakes. */
		struct reaped *q = realloc(exit_queue, (size_t)(nqueued + 1) * sizeof(*q));
		if (!q)
			continue;	/* out of memory: the exit is lost, as a dead shim's would be */
		exit_queue = q;
		exit_queue[nqueued++] = e;
	}
	return done;
}

/* Sends the OOMs, then the exits, that came while no server ran (exits
 * oldest first): an OOM kill comes before the exit it caused. */
static void flush_queued(void)
{
	for (int i = 0; oom_pending && i < noom; i++)
		if (ooms[i].used && ooms[i].pending) {
			ooms[i].pending = 0;
			send_oom(&ooms[i]);
		}
	oom_pending = 0;
	for (int i = 0; i < nqueued; i++)
		send_exit(&exit_queue[i]);
	free(exit_queue);
	exit_queue = NULL;
	nqueued = 0;
}

/* ------------------------------------------------------------ the server */

/*
 * Runs PROGRAM with the listener on listen_target, a new control channel on
 * ctl_target and, when waking a hibernated server, the stash from
 * STASH_BASE up, named in BERTH_SHIM_RESUME (set, maybe empty, exactly
 * then). The stash then belongs to PROGRAM: the reaper closes its copies.
 * Exits reaped while no server ran are sent first. `signo`: a SIGTERM or
 * SIGINT that came while no server ran, for PROGRAM to act on once it is up
 * (BERTH_SHIM_SIGNAL; sent at once, it would kill Node before its handler).
 */
static int spawn_server(int listener, int listen_target, int ctl_target, char **prog, const sigset_t *old, int waking, int signo)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	/* "NAME=FD ..." for the stash, at the numbers it will have in PROGRAM. */
	static char resume[MAX_STASH * 72];
	size_t len = 0;
	int base = STASH_BASE;
	if (base <= listen_target || base <= ctl_target)
		base = (listen_target > ctl_target ? listen_target : ctl_target) + 1;
	resume[0] = 0;
	for (int i = 0; i < nstash && len < sizeof(resume); i++)
		len += (size_t)snprintf(resume + len, sizeof(resume) - len, "%s%s=%d", i ? " " : "", stash[i].name, base + i);
	pid_t pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, old, NULL);
		/* Move every fd out of the way first (a source may sit on a target,
		 * and dup2(fd, fd) would keep FD_CLOEXEC), then place them: dup2 to
		 * another number clears FD_CLOEXEC. Nothing else leaks into PROGRAM. */
		int aside = base + nstash + 8;	/* above every target */
		for (int i = 0; i < nstash; i++) {
			int moved = fcntl(stash[i].fd, F_DUPFD_CLOEXEC, aside);
			if (moved < 0)
				_exit(127);
			stash[i].fd = moved;
		}
		int l = fcntl(listener, F_DUPFD_CLOEXEC, aside), k = fcntl(sp[1], F_DUPFD_CLOEXEC, aside);
		if (l < 0 || k < 0 || dup2(l, listen_target) < 0 || dup2(k, ctl_target) < 0)
			_exit(127);
		int top = listen_target > ctl_target ? listen_target : ctl_target;
		for (int i = 0; i < nstash; i++)
			if (dup2(stash[i].fd, base + i) < 0)
				_exit(127);
		if (nstash)
			top = base + nstash - 1;
		for (int fd = 3; fd < top; fd++)
			if (fd != listen_target && fd != ctl_target && (fd < base || fd >= base + nstash))
				close(fd);
		if (syscall(SYS_close_range, top + 1, ~0U, 0) < 0)
			for (int fd = top + 1; fd < 4096; fd++)
				close(fd);
		if (waking)
			setenv("BERTH_SHIM_RESUME", resume, 1);	/* maybe "": state, no fds */
		else
			unsetenv("BERTH_SHIM_RESUME");
		if (signo) {
			char sig[16];
			snprintf(sig, sizeof(sig), "%d", signo);
			setenv("BERTH_SHIM_SIGNAL", sig, 1);
		} else {
			unsetenv("BERTH_SHIM_SIGNAL");
		}
		execvp(prog[0], prog);
		fprintf(stderr, "berth-nsexec: exec %s: %s\n", prog[0], strerror(errno));
		_exit(127);
	}
	close(sp[1]);
	child = pid;
	if (child_pidfd >= 0)
		close(child_pidfd);
	child_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);	/* close-on-exec; -1: stash fails with EBADF */
	ctl = sp[0];
	unstash_all();
	hibernating = 0;
	flush_queued();
	return 0;
}

/*
 * The server exited with `status`. Returns 1 if it did so to hibernate (the
 * reaper now sleeps, holding the stash), 0 if the reaper should exit too.
 */
static int server_gone(int status)
{
	int hibernated = hibernating && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ctl >= 0)
		close(ctl);
	ctl = -1;
	child = -1;
	hibernating = 0;
	if (!hibernated)
		unstash_all();
	return hibernated;
}

static int reaper_main(int argc, char **argv)
{
	if (argc < 7 || strcmp(argv[5], "--") != 0) {
		fprintf(stderr, "usage: berth-nsexec shim-reaper LISTEN_PATH LISTEN_FD CTL_FD -- PROGRAM [ARG]...\n");
		return 2;
	}
	const char *listen_path = argv[2];
	int listen_target = parse_int(argv[3]), ctl_target = parse_int(argv[4]);
	if (listen_target < 3 || ctl_target < 3 || listen_target == ctl_target) {
		fprintf(stderr, "berth-nsexec: bad fd arguments\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		printf("error %d PR_SET_CHILD_SUBREAPER\n", errno);
		return 1;
	}
	int listener = listen_unix(listen_path, SOMAXCONN);
	if (listener < 0) {
		printf("error %d listen %s\n", errno, listen_path);
		return 1;
	}
	printf("ok %d\n", getpid());
	fflush(stdout);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(null, 1);
	/* Wait for the starter to finish placing us (cgroup, OOM score). */
	char c;
	while (read(0, &c, 1) > 0 || errno == EINTR)
		;
	dup2(null, 0);

	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);

	if (spawn_server(listener, listen_target, ctl_target, argv + 6, &old, 0, 0) < 0) {
		fprintf(stderr, "berth-nsexec: starting %s: %s\n", argv[6], strerror(errno));
		return 1;
	}

	int child_status = 0;
	static struct pollfd pfd[2 + 2 * MAX_CONSOLES + MAX_OOM + 1 + MAX_STASH];
	static int slot_of[2 + 2 * MAX_CONSOLES + MAX_OOM];
	static unsigned long id_of[2 + 2 * MAX_CONSOLES];
	for (;;) {
		int sleeping = child < 0;
		int n = 0;
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ctl, .events = POLLIN };	/* -1 while sleeping: ignored */
		for (int i = 0; i < MAX_CONSOLES; i++) {
			struct console *k = consoles[i];
			if (!k)
				continue;
			slot_of[n] = slot_of[n + 1] = i;
			id_of[n] = id_of[n + 1] = k->id;
			if (k->listen_fd >= 0) {
				pfd[n++] = (struct pollfd){ .fd = k->listen_fd, .events = POLLIN };
				continue;
			}
			if (k->relay < 0)
				continue;	/* hung up; kept for resize until console-close */
			short me = 0, re = 0;
			if (!k->master_eof && k->out_len == 0)
				me |= POLLIN;
			if (k->in_len > 0)
				me |= POLLOUT;
			if (!k->relay_eof && k->in_len == 0)
				re |= POLLIN;
			if (k->out_len > 0)
				re |= POLLOUT;
			/* An fd with nothing to wait for is left out (negative fd): poll
			 * reports POLLHUP whatever the events, and would spin. */
			pfd[n++] = (struct pollfd){ .fd = me ? k->master : -1, .events = me };
			pfd[n++] = (struct pollfd){ .fd = re ? k->relay : -1, .events = re };
		}
		int consoles_end = n;
		for (int i = 0; i < noom; i++)
			if (ooms[i].used) {
				slot_of[n] = i;
				pfd[n++] = (struct pollfd){ .fd = ooms[i].fd, .events = POLLIN };
			}
		int ooms_end = n;
		if (sleeping) {
			/* What wakes the server: a connection, a watched fd. */
			pfd[n++] = (struct pollfd){ .fd = listener, .events = POLLIN };
			for (int i = 0; i < nstash; i++)
				if (stash[i].watch)
					pfd[n++] = (struct pollfd){ .fd = stash[i].fd, .events = POLLIN };
		}
		if (poll(pfd, (nfds_t)n, -1) < 0 && errno != EINTR)
			return 1;
		int wake = 0;
		/* OOM notifications first: the kernel signals one before the kill
		 * whose exit may be in the same wake-up, and TaskOOM goes before
		 * TaskExit. */
		for (int i = consoles_end; i < ooms_end; i++)
			if (pfd[i].revents && ooms[slot_of[i]].used && ooms[slot_of[i]].fd == pfd[i].fd)
				oom_fired(&ooms[slot_of[i]]);
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			int child_done = 0;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGCHLD)
					child_done |= reap(&child_status);
				else if (child > 0 && !hibernating)
					kill(child, (int)si.ssi_signo);
				else	/* none, or one on its way out to hibernate (maybe
					 * exited already, its SIGCHLD next in this read):
					 * the next server gets it, or this one if it stays */
					pending_signal = (int)si.ssi_signo;
			}
			if (child_done && !server_gone(child_status))
				break;
		}
		if (pfd[1].revents && ctl >= 0 && read_ctl() < 0) {
			/* Node closed the channel: it is exiting; wait for it. */
			close(ctl);
			ctl = -1;
			while (waitpid(child, &child_status, 0) < 0 && errno == EINTR)
				;
			if (!server_gone(child_status))
				break;
		}
		/* Consoles: the entries were built before the requests above ran, so
		 * one closed (or replaced) meanwhile is recognised by its id and skipped. */
		for (int i = 2; i < consoles_end; i++) {
			struct console *k = consoles[slot_of[i]];
			int pair = i + 1 < consoles_end && id_of[i + 1] == id_of[i];
			if (k && k->id == id_of[i]) {
				if (!pair && k->listen_fd >= 0 && pfd[i].revents)
					console_accept(k);
				else if (pair && k->listen_fd < 0 && (pfd[i].revents || pfd[i + 1].revents))
					console_io(k, pfd[i].revents, pfd[i + 1].revents);
			}
			if (pair)
				i++;
		}
		if (sleeping)
			for (int i = ooms_end; i < n; i++)
				wake |= pfd[i].revents != 0;
		if (child < 0 && (wake || nqueued > 0 || oom_pending || pending_signal)) {
			if (spawn_server(listener, listen_target, ctl_target, argv + 6, &old, 1, pending_signal) < 0) {
				fprintf(stderr, "berth-nsexec: restarting %s: %s\n", argv[6], strerror(errno));
				return 1;
			}
			pending_signal = 0;
		}
	}
	if (WIFSIGNALED(child_status))
		return 128 + WTERMSIG(child_status);
	return WEXITSTATUS(child_status);
}

/* ------------------------------------------------------------- mounting */

static int mount_main(int argc, char **argv)
{
	int idx = 0;
	for (int i = 2; i < argc; idx++) {
		int err = 0;
		if (strcmp(argv[i], "mount") == 0 && i + 6 < argc) {
			const char *chdir_to = argv[i + 1];
			int cwd = -1;
			if (*chdir_to) {
				cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (chdir(chdir_to) < 0)
					err = errno;
			}
			if (!err && mount(argv[i + 2], argv[i + 3], argv[i + 4], strtoul(argv[i + 5], NULL, 10),
					  *argv[i + 6] ? argv[i + 6] : NULL) < 0)
				err = errno;
			if (cwd >= 0) {
				if (fchdir(cwd) < 0 && !err)
					err = errno;
				close(cwd);
			}
			i += 7;
		} else if (strcmp(argv[i], "umount") == 0 && i + 2 < argc) {
			if (umount2(argv[i + 1], (int)strtol(argv[i + 2], NULL, 10)) < 0)
				err = errno;
			i += 3;
		} else {
			fprintf(stderr, "berth-nsexec: bad shim-mount operation at %d\n", i);
			return 2;
		}
		if (err) {
			printf("fail %d %d\n", idx, err);
			return 1;
		}
	}
	return 0;
}

int shim_main(int argc, char **argv)
{
	if (strcmp(argv[1], "shim-reaper") == 0)
		return reaper_main(argc, argv);
	return mount_main(argc, argv);
}
