/*
 * A minimal seccomp agent for the NOTIFY test (test/runtime/seccomp-kernel.test.ts):
 * listens on a unix socket, receives one notify fd (SCM_RIGHTS) with its
 * metadata, prints the metadata, then answers every notification with
 * -ERRNO until the filtered processes are gone.
 *
 * Compiled by the test: cc -O2 -o seccomp-agent seccomp-agent.c
 * Usage: seccomp-agent SOCKET_PATH ERRNO     (prints "ready" once listening)
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "seccomp-agent: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int answer = atoi(argv[2]);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l, 1) < 0)
		return die("listen");
	printf("ready\n");
	fflush(stdout);
	int c = accept(l, NULL, NULL);
	if (c < 0)
		return die("accept");

	char data[4096];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(c, &msg, 0);
	if (n < 0)
		return die("recvmsg");
	data[n] = '\0';
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return die("no fd received");
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	printf("metadata %s\n", data);
	fflush(stdout);

	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return die("SECCOMP_GET_NOTIF_SIZES");
	struct seccomp_notif *req = malloc(sizes.seccomp_notif);
	struct seccomp_notif_resp *resp = malloc(sizes.seccomp_notif_resp);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10000) <= 0 || (p.revents & (POLLHUP | POLLERR)) || !(p.revents & POLLIN))
			break;
		memset(req, 0, sizes.seccomp_notif);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		resp->error = -answer;
		printf("notified nr %d\n", req->data.nr);
		fflush(stdout);
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT if the caller went away: fine */
	}
	return 0;
}
