/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers for the integration tests: running programs, reading their output and ground truth. */
#ifndef LS_TESTUTIL_H
#define LS_TESTUTIL_H

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LS_BUILD_DIR
#define LS_BUILD_DIR "build"
#endif
#define LOCKSCOPE      LS_BUILD_DIR "/lockscope"
#define WORKLOAD(name) LS_BUILD_DIR "/workloads/" name

/* Why BPF tests cannot run here, or NULL when they can. */
static inline const char *bpf_unavailable(void)
{
	if (geteuid() != 0)
		return "needs root to load BPF programs (run: sudo make test)";
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
	return NULL;
}

#define SKIP_WITHOUT_BPF()                                                                         \
	do {                                                                                       \
		const char *why_ = bpf_unavailable();                                              \
		if (why_) {                                                                        \
			print_message("SKIP: %s\n", why_);                                         \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/*
 * Start argv (argv[0] looked up in PATH when it has no slash) with stdout and stderr to out_path
 * and extra "NAME=value" strings in its environment; run_as >= 0 switches to that uid/gid first, and to "/" (our directory may be one
 * only root can enter). Returns the pid. A program run as another user must be reachable by that
 * user: see copy_for_others().
 */
static inline pid_t spawn(char *const argv[], const char *out_path, char *const env[], int run_as)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			_exit(120);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		if (run_as >= 0 &&
		    (chdir("/") || setgroups(0, NULL) || setgid(run_as) || setuid(run_as)))
			_exit(121);
		execvp(argv[0], argv);
		_exit(122);
	}
	return pid;
}

/* wait(2) status as an exit code: 128 + signal when killed. */
static inline int wait_exit(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline int run(char *const argv[], const char *out_path, char *const env[])
{
	return wait_exit(spawn(argv, out_path, env, -1));
}

/* The whole file, NUL-terminated (static buffer: one at a time). */
static inline const char *slurp(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* The number after "key": in a flat JSON object; -1 if absent. */
static inline long long json_num(const char *json, const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* |got - want| <= max(floor, pct% of want) */
static inline int within(long long got, long long want, long long floor, double pct)
{
	double tol = want * pct / 100.0;
	long long d = got > want ? got - want : want - got;

	return d <= (tol > floor ? tol : floor);
}

/*
 * CPU seconds the hypervisor stole from this machine so far (/proc/stat's steal). The time between
 * sched_switch records, which lockscope adds up, holds it; a thread's CPU clock and getrusage do
 * not: a workload's own CPU time is below lockscope's by at most what was stolen meanwhile.
 */
static inline double steal_seconds(void)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
			v[7] = 0;
		fclose(f);
	}
	return (double)v[7] / sysconf(_SC_CLK_TCK);
}

/* A scratch directory per test program, removed at the end unless LS_KEEP_TEST_FILES is set. */
static char test_dir[64];

static inline const char *test_path(const char *name)
{
	static char bufs[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(bufs[i], sizeof(bufs[i]), "%s/%s", test_dir, name);
	return bufs[i];
}

static inline int test_dir_setup(void **state)
{
	(void)state;
	strcpy(test_dir, "/tmp/lockscope-test.XXXXXX");
	if (!mkdtemp(test_dir))
		return -1;
	return chmod(test_dir, 0755); /* the sudo-user tests run commands as nobody in it */
}

/*
 * A copy of the program at bin, as name in the test directory, for running as another user: the
 * tree it was built in may be one only root can enter (a clone under a 0700 mktemp -d), and exec
 * would then fail for that user. NULL when it cannot be copied.
 */
static inline const char *copy_for_others(const char *bin, const char *name)
{
	static char copy[256];
	char cmd[700];

	snprintf(copy, sizeof(copy), "%s", test_path(name));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0755 '%s'", bin, copy, copy);
	return system(cmd) ? NULL : copy;
}

static inline int test_dir_teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (getenv("LS_KEEP_TEST_FILES"))
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) ? -1 : 0;
}

#ifdef LS_ANALYZE_H
/* Analyse a trace file: 0 complete, 1 cut short, -1 unusable (the reason is printed). */
static inline int load_trace(const char *trace, struct ls_analysis *a)
{
	char err[256];
	FILE *f = fopen(trace, "r");
	int ret;

	if (!f) {
		print_message("  cannot open %s\n", trace);
		return -1;
	}
	ret = ls_analyze_file(f, a, err, sizeof(err));
	fclose(f);
	if (ret)
		print_message("  %s: %s\n", trace, ret < 0 ? err : a->status);
	return ret;
}
#endif

#endif
