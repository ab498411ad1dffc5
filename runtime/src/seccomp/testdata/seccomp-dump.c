/*
 * Dumps the seccomp filter(s) a process runs under, as the kernel holds them
 * (ptrace(PTRACE_SECCOMP_GET_FILTER), root only): struct sock_filter[] of the
 * filter at INDEX (0 = the most recently installed) to stdout.
 *
 * Used by test/runtime/seccomp-runc.test.ts to read the filter runc really
 * loads for a container. Compiled by the test:  cc -O2 -o seccomp-dump seccomp-dump.c
 *
 * Usage: seccomp-dump PID [INDEX]
 */
#include <errno.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: seccomp-dump PID [INDEX]\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	unsigned long index = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0) {
		fprintf(stderr, "seize %d: %s\n", pid, strerror(errno));
		return 1;
	}
	if (waitpid(pid, NULL, __WALL) < 0) {
		fprintf(stderr, "waitpid %d: %s\n", pid, strerror(errno));
		return 1;
	}
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)index, NULL);
	if (n < 0) {
		fprintf(stderr, "PTRACE_SECCOMP_GET_FILTER %d: %s\n", pid, strerror(errno));
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 1;
	}
	struct sock_filter *prog = calloc((size_t)n, sizeof(*prog));
	if (!prog || ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)index, prog) != n) {
		fprintf(stderr, "PTRACE_SECCOMP_GET_FILTER %d: %s\n", pid, strerror(errno));
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 1;
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	fwrite(prog, sizeof(*prog), (size_t)n, stdout);
	free(prog);
	return 0;
}
