/*
 * The reference for berth's seccomp compiler: builds a filter with libseccomp
 * the way runc's libcontainer/seccomp does (via libseccomp-golang) and writes
 * the BPF that libseccomp generates (seccomp_export_bpf) to stdout.
 *
 * Compiled by the tests and the benchmark at run time:
 *   cc -O2 -o libseccomp-export libseccomp-export.c -lseccomp
 *
 * Input on stdin, one command per line:
 *   default ACTION            seccomp_init(ACTION); must come first
 *   arch TOKEN                seccomp_arch_add (an existing arch is fine, as in libseccomp-golang)
 *   optimize LEVEL            SCMP_FLTATR_CTL_OPTIMIZE (2 = binary tree of syscalls)
 *   rule ACTION NAME N [ARG OP A B]...
 *                             seccomp_rule_add_array(ACTION, native number of NAME, N conditions)
 *   export                    seccomp_export_bpf to stdout
 * ACTION, TOKEN, OP, A and B are unsigned decimal numbers (libseccomp's values).
 * A name libseccomp does not know is skipped with a line on stderr, like runc.
 *
 * Second mode, `libseccomp-export resolve`: lines "TOKEN NAME" in, the
 * number seccomp_syscall_resolve_name_arch gives out (one per line).
 *
 * Third mode, `libseccomp-export bench N`: the same script run N times (the
 * export going to /dev/null); prints each run's time in nanoseconds.
 */
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static void die(int line, const char *what, int rc)
{
	fprintf(stderr, "line %d: %s: %s\n", line, what, strerror(rc < 0 ? -rc : rc));
	exit(2);
}

static int resolve_mode(void)
{
	char name[128];
	unsigned long token;
	while (scanf("%lu %127s", &token, name) == 2)
		printf("%d\n", seccomp_syscall_resolve_name_arch((uint32_t)token, name));
	return 0;
}

static void run_script(FILE *in, int out_fd)
{
	scmp_filter_ctx ctx = NULL;
	char cmd[32];
	int line = 0;
	while (fscanf(in, "%31s", cmd) == 1) {
		line++;
		if (strcmp(cmd, "default") == 0) {
			unsigned long act;
			if (fscanf(in, "%lu", &act) != 1)
				die(line, "default", EINVAL);
			ctx = seccomp_init((uint32_t)act);
			if (!ctx)
				die(line, "seccomp_init", EINVAL);
			continue;
		}
		if (!ctx)
			die(line, "no default action yet", EINVAL);
		if (strcmp(cmd, "arch") == 0) {
			unsigned long token;
			if (fscanf(in, "%lu", &token) != 1)
				die(line, "arch", EINVAL);
			int rc = seccomp_arch_add(ctx, (uint32_t)token);
			if (rc < 0 && rc != -EEXIST)
				die(line, "seccomp_arch_add", rc);
		} else if (strcmp(cmd, "optimize") == 0) {
			unsigned long level;
			if (fscanf(in, "%lu", &level) != 1)
				die(line, "optimize", EINVAL);
			int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, (uint32_t)level);
			if (rc < 0)
				die(line, "seccomp_attr_set", rc);
		} else if (strcmp(cmd, "rule") == 0) {
			unsigned long act, n;
			char name[128];
			struct scmp_arg_cmp conds[6];
			if (fscanf(in, "%lu %127s %lu", &act, name, &n) != 3 || n > 6)
				die(line, "rule", EINVAL);
			for (unsigned long i = 0; i < n; i++) {
				unsigned long arg, op;
				uint64_t a, b;
				if (fscanf(in, "%lu %lu %" SCNu64 " %" SCNu64, &arg, &op, &a, &b) != 4)
					die(line, "condition", EINVAL);
				conds[i] = (struct scmp_arg_cmp){ .arg = (unsigned)arg, .op = (enum scmp_compare)op, .datum_a = a, .datum_b = b };
			}
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR) {
				if (out_fd == 1)
					fprintf(stderr, "unknown syscall %s ignored\n", name);
				continue;
			}
			int rc = seccomp_rule_add_array(ctx, (uint32_t)act, nr, (unsigned)n, conds);
			if (rc < 0)
				die(line, name, rc);
		} else if (strcmp(cmd, "export") == 0) {
			fflush(stdout);
			int rc = seccomp_export_bpf(ctx, out_fd);
			if (rc < 0)
				die(line, "seccomp_export_bpf", rc);
		} else {
			die(line, cmd, EINVAL);
		}
	}
	seccomp_release(ctx);
}

static int bench_mode(int n)
{
	/* Read the script once, then build and export from memory n times. */
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int c;
	while ((c = getchar()) != EOF)
		fputc(c, mem);
	fclose(mem);
	int null_fd = open("/dev/null", O_WRONLY);
	for (int i = 0; i < n; i++) {
		struct timespec t0, t1;
		FILE *in = fmemopen(buf, len, "r");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		run_script(in, null_fd);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fclose(in);
		printf("%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	}
	close(null_fd);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "resolve") == 0)
		return resolve_mode();
	if (argc == 3 && strcmp(argv[1], "bench") == 0)
		return bench_mode(atoi(argv[2]));
	run_script(stdin, 1);
	return 0;
}
