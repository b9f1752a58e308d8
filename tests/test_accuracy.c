// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Accuracy (root + BPF): each C workload runs under lockscope record and writes what it measured
 * itself (--truth); the report's figures must match within the tolerances of issue 4. Effective
 * parallelism and switch counts are compared over the workload's own interval (its start_ns to
 * end_ns), not over the recording's window, which also holds the exec, the loader, the exit and
 * the recorder noticing it: 4-22 ms of mostly idle wall time, 2.5% of procs' 0.85 s.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>
#include <cmocka.h>
#include "summary.h"
#include "testutil.h"

enum { CHECK_WAIT = 1, CHECK_HOLD = 2 };

struct workload {
	const char *name;
	char *args[12]; /* NULL-terminated */
	enum ls_verdict verdict;
	int checks; /* figures compared beyond switches, acquisitions, hand-offs, parallelism */
};

/*
 * Wait and hold times are compared where waits and holds last long enough: the tracer times a
 * wait inside the kernel, the workload around the syscall, about 1 us more per call (the
 * syscall's entry and return; up to 2 us in this VM beside a CPU hog), which is over 2% of io's
 * 20 us waits. gil's mutex waits average about 250 us, but beside a busy CPU hog a run's may
 * average 50 us: a run's wait time is compared when its waits average MIN_WAIT_US. Likewise the
 * CPU time the kernel charges (getrusage) runs above on-CPU time between sched_switch records in
 * this VM, by about 10 us per blocking wait on a quiet machine and up to 40 us beside a CPU hog
 * (perf's own sched_switch intervals agree with lockscope's to 0.1%; sched_stat_runtime charges
 * threads even while another task is on their CPU), so mutex holds and thinks long enough (1 ms
 * holds: about 500 blocking waits a second) for that to stay well under the 0.05 allowed on its
 * parallelism.
 */
#define MIN_WAIT_US 200 /* 2 us of entry and return stay within 1% of the 2% allowed */

/*
 * The verdicts expected are those of an otherwise idle machine: reports/METRICS.md's verdict is the
 * run's, and other load changes it (4 processes beside one CPU hog get 1.6 of 2 CPUs: utilization
 * 0.8, parallel or mixed by a hair; threads waiting for a CPU are not waiting for the lock). A
 * verdict is checked when the CPU time of everything but the test's own children stayed below
 * MAX_OTHER_CPUS during the run (/proc/stat, the kernel's count, against getrusage).
 */
#define MAX_OTHER_CPUS 0.2

static const struct workload workloads[] = {
	{ "gil", { "--threads", "4", "--work-ms", "200" }, LS_VERDICT_SERIALIZED, CHECK_WAIT },
	{ "mutex",
	  { "--threads", "4", "--iterations", "200", "--hold-us", "1000", "--think-us", "100" },
	  LS_VERDICT_SERIALIZED,
	  CHECK_WAIT | CHECK_HOLD },
	{ "io",
	  { "--threads", "4", "--sleep-us", "3000", "--iterations", "150" },
	  LS_VERDICT_WAITING,
	  0 },
	{ "procs", { "--procs", "4", "--work-ms", "400" }, LS_VERDICT_PARALLEL, 0 },
	{ "straggler",
	  { "--threads", "4", "--rounds", "4", "--work-ms", "100", "--skew", "20" },
	  LS_VERDICT_IMBALANCED,
	  0 },
};

static const char *path(const char *name, const char *ext)
{
	static char bufs[2][256];
	static int i;

	i = !i;
	snprintf(bufs[i], sizeof(bufs[i]), "%s/%s%s", test_dir, name, ext);
	return bufs[i];
}

static int compare(const char *what, double got, double want, double floor, double pct)
{
	double tol = want * pct / 100 > floor ? want * pct / 100 : floor;
	int ok = (got > want ? got - want : want - got) <= tol;

	print_message("  %-26s lockscope %14.3f  workload %14.3f  (+-%.3g) %s\n", what, got, want,
		      tol, ok ? "ok" : "MISMATCH");
	return ok;
}

static int compare_range(const char *what, double got, double lo, double hi)
{
	int ok = got >= lo && got <= hi;

	print_message("  %-26s lockscope %14.3f  workload %6.3f .. %-6.3f %s\n", what, got, lo, hi,
		      ok ? "ok" : "MISMATCH");
	return ok;
}

/*
 * straggler: the thread that did the work is the busiest, with the share of the process's CPU
 * time that its own clock says. A share, not a time: in this VM the time between sched_switch
 * records runs a few % above the CPU clock beside other load (steal and interrupt time).
 */
static int check_straggler(const struct ls_analysis *a, const char *truth)
{
	const struct ls_thread *t, *busiest = NULL;
	__u64 cpu = 0;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		cpu += t->state_ns[LS_ST_RUNNING];
		if (!busiest || t->state_ns[LS_ST_RUNNING] > busiest->state_ns[LS_ST_RUNNING])
			busiest = t;
	}
	print_message("  busiest thread              lockscope %14u  workload %14lld\n",
		      busiest->tid, json_num(truth, "straggler_tid"));
	return busiest->tid == json_num(truth, "straggler_tid") &&
	       compare("straggler's share of CPU", (double)busiest->state_ns[LS_ST_RUNNING] / cpu,
		       (double)json_num(truth, "straggler_cpu_ns") / json_num(truth, "cpu_ns"),
		       0.03, 0);
}

static void check_lock(const struct ls_analysis *a, const struct workload *w, const char *truth,
		       int *ok)
{
	struct ls_lock_key k = { .tgid = a->hdr.target_pid, .uaddr = json_num(truth, "lock_addr") };
	const struct ls_lock *l = ls_htab_find(&a->locks, &k);
	static const struct ls_lock none;

	/* a lock that never made a futex call is in no record: all its figures are 0 */
	if (!l) {
		print_message("  lock 0x%llx: no futex call in the recording\n",
			      (unsigned long long)k.uaddr);
		l = &none;
	}
	*ok &= compare("contended acquisitions", l->acquisitions, json_num(truth, "contended"), 0,
		       1);
	*ok &= compare("hand-offs", l->handoffs, json_num(truth, "handoffs"), 0, 1);
	if ((w->checks & CHECK_WAIT) && l->blocked &&
	    json_num(truth, "wait_ns") / l->blocked < MIN_WAIT_US * 1000)
		print_message("  wait time (ms)             lockscope %14.3f  workload %14.3f  not "
			      "compared: %llu waits of %.0f us on average (< %d us)\n",
			      l->wait.total / 1e6, json_num(truth, "wait_ns") / 1e6,
			      (unsigned long long)l->blocked,
			      json_num(truth, "wait_ns") / 1e3 / l->blocked, MIN_WAIT_US);
	else if (w->checks & CHECK_WAIT)
		*ok &= compare("wait time (ms)", l->wait.total / 1e6,
			       json_num(truth, "wait_ns") / 1e6, 0, 2);
	if (w->checks & CHECK_HOLD)
		*ok &= compare("hold time (ms, inferred)", l->hold.total / 1e6,
			       json_num(truth, "hold_ns") / 1e6, 0, 5);
}

/*
 * The workload's own interval [from, to), and what the report counts inside it: on-CPU time (its
 * running slices; all: their total) and switches. The window opens before the command's exec and
 * closes after its exit is noticed, milliseconds that the workload's figures do not hold.
 */
struct interval {
	__u64 from, to;
	__u64 all, inside;
	__u64 vol, invol; /* switches inside [from, to) */
};

static void interval_slice(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			   enum ls_state state, __u64 since, __u64 until)
{
	struct interval *c = ctx;
	__u64 lo = since > c->from ? since : c->from, hi = until < c->to ? until : c->to;

	if (state != LS_ST_RUNNING)
		return;
	c->all += until - since;
	c->inside += hi > lo ? hi - lo : 0;
}

/* Its switches likewise: getrusage's counts are the workload's own interval's. */
static void interval_switch(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			    __u64 ts, bool voluntary)
{
	struct interval *c = ctx;

	if (ts < c->from || ts >= c->to)
		return;
	c->vol += voluntary;
	c->invol += !voluntary;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* CPU seconds the machine spent busy so far, and those of this process's reaped children. */
static void cpu_seconds(double *machine, double *children)
{
	unsigned long long v[10] = { 0 }, busy = 0;
	FILE *f = fopen("/proc/stat", "r");
	struct rusage ru;

	if (f) {
		/* user nice system idle iowait irq softirq steal ...: all but idle and iowait */
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
			busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		fclose(f);
	}
	*machine = (double)busy / sysconf(_SC_CLK_TCK);
	getrusage(RUSAGE_CHILDREN, &ru);
	*children = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void run_workload(const struct workload *w)
{
	char *argv[20] = { LOCKSCOPE, "record", "-o", NULL, "--", NULL };
	char err[256], bin[256], truth_path[256];
	struct interval iv = { 0 };
	struct ls_observer obs = { .ctx = &iv,
				   .on_state = interval_slice,
				   .on_switch = interval_switch };
	double busy0, busy1, ours0, ours1, other, steal0, steal1, stolen, want;
	unsigned long long t0, t1;
	struct ls_analysis a;
	struct ls_summary s;
	const char *truth;
	int n = 5, ok = 1;
	FILE *f;

#ifdef __SANITIZE_ADDRESS__
	print_message("SKIP: accuracy is measured on the normal build: a sanitized recorder is "
		      "slow enough to change what the workload does\n");
	skip();
#endif
	snprintf(bin, sizeof(bin), "%s/workloads/%s", LS_BUILD_DIR, w->name);
	snprintf(truth_path, sizeof(truth_path), "%s", path(w->name, ".json"));
	argv[3] = (char *)path(w->name, ".data");
	argv[n++] = bin;
	for (int i = 0; w->args[i]; i++)
		argv[n++] = w->args[i];
	argv[n++] = "--truth";
	argv[n++] = truth_path;
	cpu_seconds(&busy0, &ours0);
	steal0 = steal_seconds();
	t0 = now_ns();
	assert_int_equal(run(argv, path(w->name, ".out"), NULL), 0);
	t1 = now_ns();
	steal1 = steal_seconds();
	cpu_seconds(&busy1, &ours1);
	other = ((busy1 - busy0) - (ours1 - ours0)) / ((t1 - t0) / 1e9);
	truth = slurp(truth_path);
	iv.from = json_num(truth, "start_ns");
	iv.to = json_num(truth, "end_ns");
	assert_true(iv.from > 0 && iv.to > iv.from);
	f = fopen(path(w->name, ".data"), "r");
	assert_non_null(f);
	assert_int_equal(ls_analyze_file_observed(f, &a, &obs, err, sizeof(err)), 0);
	fclose(f);
	ls_summarize(&a, &s);
	/* the slices summed here are those the report's effective parallelism is made of */
	assert_int_equal(iv.all, s.cpu_ns);
	print_message("%s:\n", w->name);
	assert_int_equal(a.nr_lost, 0);
	/* the workload and, for procs, its children: getrusage counts them the same way */
	ok &= compare("voluntary switches", iv.vol, json_num(truth, "vol_switches"), 2, 1);
	ok &= compare("involuntary switches", iv.invol, json_num(truth, "invol_switches"), 2, 1);
	if (json_num(truth, "lock_addr") > 0)
		check_lock(&a, w, truth, &ok);
	if (json_num(truth, "straggler_cpu_ns") > 0)
		ok &= check_straggler(&a, truth);
	print_message("  (window %.3f s, workload %.3f s from %.1f ms after its start; "
		      "parallelism over the window %.3f)\n",
		      s.wall_ns / 1e9, (iv.to - iv.from) / 1e9, (iv.from - a.start_ns) / 1e6,
		      s.parallelism);
	/* the switch intervals hold stolen time, the workload's CPU clock does not (steal_seconds) */
	want = (double)json_num(truth, "cpu_ns") / json_num(truth, "wall_ns");
	stolen = (steal1 - steal0) / ((t1 - t0) / 1e9);
	print_message("  (the hypervisor stole %.3f CPUs meanwhile)\n", stolen);
	ok &= compare_range("effective parallelism", (double)iv.inside / (iv.to - iv.from),
			    want - 0.05, want + stolen + 0.05);
	/* /proc/stat's figure covers the recorder's start and end too; lockscope's, the window */
	if (other > MAX_OTHER_CPUS) {
		print_message("  verdict: %s (%s on an idle machine; other load took %.2f CPUs, "
			      "%.2f by lockscope: not compared)\n",
			      ls_verdict_name(s.verdict), ls_verdict_name(w->verdict), other,
			      s.other_cpus);
	} else {
		print_message("  verdict: %s (expected %s; other load %.2f CPUs, %.2f by "
			      "lockscope)\n",
			      ls_verdict_name(s.verdict), ls_verdict_name(w->verdict), other,
			      s.other_cpus);
		ok &= s.verdict == w->verdict;
	}
	ls_analysis_free(&a);
	assert_true(ok);
}

static void test_gil(void **state)
{
	SKIP_WITHOUT_BPF();
	run_workload(&workloads[0]);
}

static void test_mutex(void **state)
{
	SKIP_WITHOUT_BPF();
	run_workload(&workloads[1]);
}

static void test_io(void **state)
{
	SKIP_WITHOUT_BPF();
	run_workload(&workloads[2]);
}

static void test_procs(void **state)
{
	SKIP_WITHOUT_BPF();
	run_workload(&workloads[3]);
}

static void test_straggler(void **state)
{
	SKIP_WITHOUT_BPF();
	run_workload(&workloads[4]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gil),	  cmocka_unit_test(test_mutex),
		cmocka_unit_test(test_io),	  cmocka_unit_test(test_procs),
		cmocka_unit_test(test_straggler),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("accuracy against ground truth (root + BPF)", tests,
					   test_dir_setup, test_dir_teardown);
}
