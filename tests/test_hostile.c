// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope report on hostile traces (tests/bench/hostile.h), a few MB each: it must finish in
 * time and memory that grow no faster than the file. Times are CPU times of the child, held
 * against the report of an ordinary trace of the same size made in the same run, so that a busy
 * machine slows both alike; the quadratic paths these files were made for took 100 to 1000 times
 * longer. Memory is the child's peak RSS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/resource.h>
#include <sys/time.h>
#include "testutil.h"
#include "bench/hostile.h"

#define HOSTILE_BYTES (6u << 20)
#define CPU_LIMIT_S   120 /* the child is killed past this: a failure, not a hang */

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1 /* its shadow memory and quarantine make RSS say nothing of ours */
#else
#define ASAN 0
#endif

struct usage {
	int status;
	double cpu_s;
	double rss_mb;
};

static double tv_s(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* lockscope report [--format FMT] FILE, its output discarded: how it ended and what it took */
static struct usage report(const char *file, const char *fmt)
{
	struct usage u = { -1, 0, 0 };
	struct rusage ru;
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit cpu = { CPU_LIMIT_S, CPU_LIMIT_S };
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		setrlimit(RLIMIT_CPU, &cpu);
		execl(LOCKSCOPE, LOCKSCOPE, "report", "--format", fmt, file, (char *)NULL);
		_exit(122);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid)
		return u;
	u.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	u.cpu_s = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
	u.rss_mb = ru.ru_maxrss / 1024.0;
	return u;
}

static const char *make_trace(const char *kind)
{
	char name[64];
	const char *path;
	FILE *f;

	snprintf(name, sizeof(name), "%s.data", kind);
	path = test_path(name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(hostile_write(f, kind, HOSTILE_BYTES), 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* The report of kind's trace (made by check_kind) in that format says text. */
static void expect_in_report(const char *kind, const char *fmt, const char *text)
{
	char cmd[512], name[64];
	size_t k = 0, want = strlen(text);
	FILE *p;
	int c;

	snprintf(name, sizeof(name), "%s.data", kind);
	snprintf(cmd, sizeof(cmd), "%s report --format %s '%s' 2>&1", LOCKSCOPE, fmt,
		 test_path(name));
	p = popen(cmd, "r");
	assert_non_null(p);
	/* a streaming match: the output may be hundreds of MB */
	while (k < want && (c = fgetc(p)) != EOF)
		k = c == text[k] ? k + 1 : c == text[0] ? 1 : 0;
	while (fgetc(p) != EOF)
		;
	pclose(p);
	if (k < want)
		print_message("  %s %s: no \"%s\" in the report\n", kind, fmt, text);
	assert_true(k == want);
}

static struct usage reference[2];
static const char *const formats[2] = { "text", "json" };

static int reference_setup(void **state)
{
	const char *path;

	if (test_dir_setup(state))
		return -1;
	path = make_trace("reference");
	for (int f = 0; f < 2; f++)
		reference[f] = report(path, formats[f]);
	print_message("  reference, %u MB: %.2f s and %.1f MB (text), %.2f s and %.1f MB (json)\n",
		      HOSTILE_BYTES >> 20, reference[0].cpu_s, reference[0].rss_mb,
		      reference[1].cpu_s, reference[1].rss_mb);
	return 0;
}

/* Both formats of one kind: exit 0, CPU time within 40x the reference's + 3 s, RSS bounded. */
static void check_kind(const char *kind, double max_rss_mb)
{
	const char *path = make_trace(kind);

	for (int f = 0; f < 2; f++) {
		struct usage u = report(path, formats[f]);
		double max_cpu = 40 * reference[f].cpu_s + 3;

		print_message("  %-8s %-4s: exit %d, %.2f s CPU (at most %.1f), %.1f MB (at most "
			      "%.0f%s)\n",
			      kind, formats[f], u.status, u.cpu_s, max_cpu, u.rss_mb, max_rss_mb,
			      ASAN ? ", not checked under ASan" : "");
		assert_int_equal(u.status, 0);
		assert_true(u.cpu_s <= max_cpu);
		if (!ASAN)
			assert_true(u.rss_mb <= max_rss_mb);
	}
}

/* tids that collided in the unkeyed hash: 46 s for 1 MB before the hash was keyed */
static void test_collide(void **state)
{
	check_kind("collide", 96);
}

/* a new lock every 11 bytes: 12 KB each before histograms kept only the buckets used (876 MB
 * for 1 MB); now about 300 bytes each, and those beyond LS_LOCKS_MAX are one entry */
static void test_locks(void **state)
{
	check_kind("locks", 64);
	expect_in_report("locks", "text", "counted together\n  as \"(other locks)\"");
	expect_in_report("locks", "json", "\"locks_folded\": true");
}

/* a GIL per process: each sorted every thread (killed after 60 s for 1 MB) */
static void test_gils(void **state)
{
	check_kind("gils", 96);
}

/* more threads than are analysed: the report said nothing but "too many"; now it degrades */
static void test_threads(void **state)
{
	check_kind("threads", 160);
	expect_in_report("threads", "text", "WARNING: more than 262144 threads");
	expect_in_report("threads", "json", "\"records_left_out\": ");
}

/* a 16-byte stack record took 536 bytes of memory: 137 MB for 4 MB */
static void test_stacks(void **state)
{
	check_kind("stacks", 32);
}

/* a new stack pointer per thread creation: each scanned every one before it */
static void test_sps(void **state)
{
	check_kind("sps", 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locks),	cmocka_unit_test(test_collide),
		cmocka_unit_test(test_gils),	cmocka_unit_test(test_sps),
		cmocka_unit_test(test_threads), cmocka_unit_test(test_stacks),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("hostile traces", tests, reference_setup,
					   test_dir_teardown);
}
