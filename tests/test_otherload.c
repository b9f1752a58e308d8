// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The machine's other load (root + BPF): a traced CPU-bound workload recorded beside an untraced
 * CPU hog, which times its own CPU time as it spins; and what the untraced tasks took can be no
 * more than the machine's busy time, by the kernel's idle counts, less the traced threads' time.
 * Other people's programs may run meanwhile: they only add to the other load.
 */
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <cmocka.h>
#include "summary.h"
#include "testutil.h"

#define HOG_SAMPLES (1 << 16) /* one a millisecond: a minute */
#define SLOP_NS	    30000000  /* /proc/stat's idle counts: 10 ms ticks, read twice, 2 CPUs */

/* The hog's own clock: its CPU time at an instant, written as it spins. */
struct hog_sample {
	__u64 mono, cpu;
};

/* shared with the hog, which writes it */
struct hog {
	__u64 n; /* samples written */
	struct hog_sample s[HOG_SAMPLES];
};

static __u64 clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A process that spins, outside the traced set, noting its CPU time every millisecond; on CPU
 * cpu only, unless it is -1.
 */
static struct hog *hog_start(pid_t *pid, int cpu)
{
	struct hog *h =
		mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(h != MAP_FAILED);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid)
		return h;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			_exit(1);
	}
	for (__u64 n = 0;; n++) {
		__u64 until = clock_ns(CLOCK_MONOTONIC) + 1000000;
		struct hog_sample *s = &h->s[n % HOG_SAMPLES];

		while (clock_ns(CLOCK_MONOTONIC) < until)
			;
		s->cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		s->mono = clock_ns(CLOCK_MONOTONIC);
		__atomic_store_n(&h->n, n + 1, __ATOMIC_RELEASE);
	}
}

static void hog_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * The hog's CPU time inside [from, to], from its first sample in it to its last: at most what it
 * had, since it may have run before the first and after the last.
 */
static __u64 hog_cpu_ns(const struct hog *h, __u64 from, __u64 to)
{
	__u64 n = __atomic_load_n(&h->n, __ATOMIC_ACQUIRE), first = 0, last = 0;

	for (__u64 i = n > HOG_SAMPLES ? n - HOG_SAMPLES : 0; i < n; i++) {
		const struct hog_sample *s = &h->s[i % HOG_SAMPLES];

		if (s->mono < from || s->mono > to)
			continue;
		if (!first)
			first = s->cpu;
		last = s->cpu;
	}
	return last - first;
}

/* The machine's busy time so far, in ns: its CPUs' time less the kernel's idle and iowait. */
static __u64 machine_busy_ns(void)
{
	unsigned long long v[5] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	__u64 idle = 0;

	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) ==
		    5)
			idle = (v[3] + v[4]) * (1000000000ULL / sysconf(_SC_CLK_TCK));
		fclose(f);
	}
	return clock_ns(CLOCK_MONOTONIC) * sysconf(_SC_NPROCESSORS_ONLN) - idle;
}

struct other_run {
	struct ls_summary s;
	__u64 start_ns, end_ns;
	__u64 run_ns, busy_ns; /* from before the recording to after it, and the machine's */
	__u32 cpus;
};

/*
 * Record procs with one worker (on CPU 0 only with pin), and summarize the recording. Beside the
 * hog, the two have a CPU each on 2 CPUs: the hog keeps about one busy, however the scheduler
 * places them.
 */
static void record_procs(const char *name, bool pin, struct other_run *r)
{
	char data[64];
	char *argv[] = {
		LOCKSCOPE, "record",	      "-o",	 data, "--",	    "taskset", "-c",
		"0",	   WORKLOAD("procs"), "--procs", "1",  "--work-ms", "500",     NULL
	};
	struct ls_analysis a;
	__u64 busy0, t0;

	snprintf(data, sizeof(data), "%s", test_path(name));
	if (!pin) /* no taskset */
		memmove(&argv[5], &argv[8], 6 * sizeof(argv[0]));
	t0 = clock_ns(CLOCK_MONOTONIC);
	busy0 = machine_busy_ns();
	assert_int_equal(run(argv, test_path("record.out"), NULL), 0);
	r->busy_ns = machine_busy_ns() - busy0;
	r->run_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	assert_int_equal(load_trace(data, &a), 0);
	ls_summarize(&a, &r->s);
	r->start_ns = a.start_ns;
	r->end_ns = a.end_ns;
	r->cpus = a.hdr.nr_cpus;
	ls_analysis_free(&a);
}

/*
 * Traced and untraced time fill no more than the CPUs, and no more than the kernel says the
 * machine was busy from before the recording to after it.
 */
static void check_bounds(const struct other_run *r)
{
	__u64 other_ns = r->s.other_cpus * r->s.wall_ns;

	print_message("  traced %.2f + other %.2f CPUs over the window; the machine busy %.2f CPUs "
		      "over the run's %.3f s (/proc/stat)\n",
		      r->s.parallelism, r->s.other_cpus, (double)r->busy_ns / r->run_ns,
		      r->run_ns / 1e9);
	assert_true(r->s.parallelism + r->s.other_cpus <= r->cpus + 0.05);
	assert_true(r->s.cpu_ns + other_ns <= r->busy_ns + SLOP_NS + r->busy_ns / 50);
}

/*
 * Beside a hog, pinned to the last CPU with the workload on CPU 0 or not: pinned, the hog's CPU
 * may not switch for the whole window, and its run must be seen as it goes on.
 */
static void beside_a_hog(bool pin)
{
	int cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct other_run r;
	struct hog *h;
	double hog;
	pid_t pid;

	if (pin && cpus < 2) {
		print_message("SKIP: one CPU: nothing to pin apart\n");
		skip();
	}
	h = hog_start(&pid, pin ? cpus - 1 : -1);
	usleep(100 * 1000);
	record_procs(pin ? "pinned.data" : "hog.data", pin, &r);
	hog_stop(pid);
	hog = (double)hog_cpu_ns(h, r.start_ns, r.end_ns) / (r.end_ns - r.start_ns);
	munmap(h, sizeof(*h));
	print_message("  other load %.3f CPUs; the hog's own CPU time %.3f CPUs; window %.3f s\n",
		      r.s.other_cpus, hog, r.s.wall_ns / 1e9);
	assert_true(r.s.other_measured);
	assert_true(r.s.other_cpus >= 0.5);
	/* the hog is part of the other load; other programs only add to it */
	assert_true(r.s.other_cpus >= hog - 0.05);
	check_bounds(&r);
}

static void test_beside_a_hog(void **state)
{
	SKIP_WITHOUT_BPF();
	beside_a_hog(false);
}

static void test_beside_a_pinned_hog(void **state)
{
	SKIP_WITHOUT_BPF();
	beside_a_hog(true);
}

static void test_without_a_hog(void **state)
{
	struct other_run r;

	SKIP_WITHOUT_BPF();
	record_procs("alone.data", false, &r);
	print_message("  other load %.3f CPUs (whatever else this machine ran); window %.3f s\n",
		      r.s.other_cpus, r.s.wall_ns / 1e9);
	assert_true(r.s.other_measured);
	check_bounds(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beside_a_hog),
		cmocka_unit_test(test_beside_a_pinned_hog),
		cmocka_unit_test(test_without_a_hog),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("the machine's other load (root + BPF)", tests,
					   test_dir_setup, test_dir_teardown);
}
