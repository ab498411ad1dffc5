/*
 * recvtty — a console-socket receiver for tests, like runc's contrib/cmd/recvtty.
 *
 *   recvtty SOCKET OUTPUT [INPUT]
 *
 * Listens on the unix socket SOCKET, accepts one connection, receives the pty
 * master sent with SCM_RIGHTS (and its name), writes INPUT to the pty if
 * given, and copies everything the pty says to the file OUTPUT until the
 * other side closes. It prints "name=<name>" to stdout once the fd arrived.
 * Node cannot receive file descriptors, hence this small probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: recvtty SOCKET OUTPUT [INPUT]\n");
		return 2;
	}
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
	unlink(argv[1]);
	if (bind(srv, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(srv, 1) < 0) {
		perror("bind/listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	int conn = accept(srv, NULL, NULL);
	if (conn < 0) {
		perror("accept");
		return 1;
	}
	char name[256] = { 0 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	if (recvmsg(conn, &msg, 0) < 0) {
		perror("recvmsg");
		return 1;
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "no fd received\n");
		return 1;
	}
	int master;
	memcpy(&master, CMSG_DATA(c), sizeof(int));
	printf("name=%s\n", name);
	fflush(stdout);
	if (argc > 3)
		if (write(master, argv[3], strlen(argv[3])) < 0)
			perror("write input");
	int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char buf[4096];
	for (;;) {
		ssize_t n = read(master, buf, sizeof(buf));
		if (n <= 0)
			break; /* EIO once the last slave fd closes */
		if (write(out, buf, (size_t)n) < 0)
			break;
	}
	close(out);
	return 0;
}
