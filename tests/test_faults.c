// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Faults (root + BPF): the workload or the recorder killed, signals, a full disk, lockscope told
 * to trace itself, a thousand threads and two hundred processes, renames and an exec.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mount.h>
#include <cmocka.h>
#include "analyze.h"
#include "testutil.h"

/* BPF programs of lockscope's loaded in the kernel now (bpftool prog show). */
static int programs_loaded(void)
{
	char line[512];
	int n = 0;
	FILE *p = popen("bpftool prog show 2>/dev/null", "r");

	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		n += strstr(line, " name on_switch ") != NULL || strstr(line, " name on_sys_exit ");
	pclose(p);
	return n;
}

static void test_workload_killed(void **state)
{
	char *argv[] = { LOCKSCOPE, "record",  "-o", (char *)test_path("k.data"),
			 "--",	    "/bin/sh", "-c", "kill -9 $$",
			 NULL };
	char *report[] = { LOCKSCOPE, "report", (char *)test_path("k.data"), NULL };
	struct ls_analysis a;

	SKIP_WITHOUT_BPF();
	assert_int_equal(run(argv, test_path("k.out"), NULL), 128 + SIGKILL);
	assert_int_equal(load_trace(test_path("k.data"), &a), 0);
	assert_true(WIFSIGNALED(a.end.exit_status) && WTERMSIG(a.end.exit_status) == SIGKILL);
	ls_analysis_free(&a);
	assert_int_equal(run(report, test_path("k.report"), NULL), 0);
	assert_non_null(strstr(slurp(test_path("k.report")), "killed by signal 9"));
}

static void test_recorder_killed(void **state)
{
	char *argv[] = { LOCKSCOPE,   "record",
			 "-o",	      (char *)test_path("r.data"),
			 "--",	      WORKLOAD("pingpong"),
			 "--threads", "2",
			 "--rounds",  "200000",
			 "--spin-ms", "0",
			 NULL };
	struct ls_analysis a;
	int after = -1;
	pid_t pid;

	SKIP_WITHOUT_BPF();
	/* the kernel frees the programs of the tests before this one after a grace period */
	for (int i = 0; i < 50 && programs_loaded() > 0; i++)
		usleep(100 * 1000);
	assert_int_equal(programs_loaded(), 0);
	pid = spawn(argv, test_path("r.out"), NULL, -1);
	usleep(700 * 1000);
	kill(pid, SIGKILL);
	assert_int_equal(wait_exit(pid), 128 + SIGKILL);
	/* the file holds what was read, and says it was cut short */
	assert_int_equal(load_trace(test_path("r.data"), &a), 1);
	print_message("  %llu records before the cut: %s\n", (unsigned long long)a.nr_records,
		      a.status);
	assert_true(a.nr_records > 1000);
	assert_non_null(strstr(a.status, "truncated"));
	kill(a.hdr.target_pid, SIGKILL); /* the workload, orphaned */
	ls_analysis_free(&a);
	/* nothing stays attached: the kernel frees a dead process's programs and links */
	for (int i = 0; i < 50 && (after = programs_loaded()) > 0; i++)
		usleep(100 * 1000);
	print_message("  lockscope programs still loaded after the kill: %d\n", after);
	assert_int_equal(after, 0);
}

static void test_trace_itself(void **state)
{
	char cmd[256];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	SKIP_WITHOUT_BPF();
	snprintf(cmd, sizeof(cmd), "exec %s record -o %s -p $$", LOCKSCOPE, test_path("s.data"));
	assert_int_equal(run(argv, test_path("s.out"), NULL), 1);
	assert_non_null(strstr(slurp(test_path("s.out")), "is lockscope itself"));
}

static void test_disk_full(void **state)
{
	char dir[256], out[300];
	char *argv[] = { LOCKSCOPE,   "record",	   "-o",
			 out,	      "--",	   WORKLOAD("pingpong"),
			 "--threads", "2",	   "--rounds",
			 "20000",     "--spin-ms", "0",
			 NULL };
	struct stat st;

	SKIP_WITHOUT_BPF();
	snprintf(dir, sizeof(dir), "%s", test_path("small"));
	snprintf(out, sizeof(out), "%s/full.data", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k")) {
		print_message("SKIP: cannot mount a small tmpfs: %s\n", strerror(errno));
		skip();
	}
	assert_int_equal(run(argv, test_path("f.out"), NULL), 1);
	print_message("  %s", slurp(test_path("f.out")));
	assert_non_null(strstr(slurp(test_path("f.out")), out));
	assert_non_null(strstr(slurp(test_path("f.out")), "No space left"));
	assert_int_equal(stat(out, &st), -1); /* nothing half-written left behind */
	umount(dir);
}

static void test_many_tasks(void **state)
{
	char *argv[] = { LOCKSCOPE,   "record",
			 "-o",	      (char *)test_path("m.data"),
			 "--",	      WORKLOAD("spawn"),
			 "--threads", "1000",
			 "--procs",   "200",
			 "--exec",    "/bin/true",
			 NULL };
	const struct ls_thread *t;
	struct ls_analysis a;
	int threads = 0, renamed = 0, procs = 0, exec_seen = 0;
	size_t pos = 0;

	SKIP_WITHOUT_BPF();
	assert_int_equal(run(argv, test_path("m.out"), NULL), 0);
	assert_int_equal(load_trace(test_path("m.data"), &a), 0);
	while ((t = ls_htab_next(&a.threads, &pos))) {
		if (t->tgid == a.hdr.target_pid) {
			threads++;
			renamed += !strncmp(t->comm, "worker-", 7);
			exec_seen += t->tid == t->tgid && !strcmp(t->comm, "true");
		} else {
			procs += t->tid == t->tgid;
		}
	}
	print_message("  %d threads (%d renamed), %d child processes, exec seen: %d, lost %llu\n",
		      threads, renamed, procs, exec_seen, (unsigned long long)a.nr_lost);
	assert_int_equal(a.nr_lost, 0);
	assert_int_equal(threads, 1001);
	assert_int_equal(renamed, 1000);
	assert_int_equal(procs, 200);
	assert_int_equal(exec_seen, 1);
	ls_analysis_free(&a);
}

/*
 * A ring buffer far too small loses records, and counts each one: 200,000 futex wakes, one
 * record each, in one thread, are all either kept or counted lost.
 */
static void test_loss_counted_exactly(void **state)
{
	char *big[] = { LOCKSCOPE, "record",	      "-o",	 (char *)test_path("big.data"),
			"--",	   WORKLOAD("spawn"), "--wakes", "200000",
			NULL };
	char *tiny[] = { LOCKSCOPE, "record",
			 "-b",	    "4K",
			 "-o",	    (char *)test_path("tiny.data"),
			 "--",	    WORKLOAD("spawn"),
			 "--wakes", "200000",
			 NULL };
	struct ls_analysis a, b;
	__u64 kept_big, kept_tiny;

	SKIP_WITHOUT_BPF();
	assert_int_equal(run(big, test_path("big.out"), NULL), 0);
	assert_int_equal(run(tiny, test_path("tiny.out"), NULL), 0);
	assert_int_equal(load_trace(test_path("big.data"), &a), 0);
	assert_int_equal(load_trace(test_path("tiny.data"), &b), 0);
	/* the kernel's records: all but what user space wrote (command line, tasks, maps, lost) */
	kept_big = a.nr_kernel_records;
	kept_tiny = b.nr_kernel_records;
	print_message(
		"  large buffer: %llu kept, %llu lost; 4K buffer: %llu kept + %llu lost = %llu\n",
		(unsigned long long)kept_big, (unsigned long long)a.nr_lost,
		(unsigned long long)kept_tiny, (unsigned long long)b.nr_lost,
		(unsigned long long)(kept_tiny + b.nr_lost));
	assert_int_equal(a.nr_lost, 0);
	assert_true(b.nr_lost > 1000);
	/*
	 * every one of the 200,000 wakes is kept or counted lost; besides them a run makes a few
	 * dozen switches and wakeups, more with a tiny buffer, drained every millisecond
	 */
	assert_true(kept_big >= 200000 && kept_big < 200000 + 100);
	assert_true(kept_tiny + b.nr_lost >= 200000 && kept_tiny + b.nr_lost < 200000 + 100);
	assert_non_null(strstr(slurp(test_path("tiny.out")), "lost records (raise -b)"));
	ls_analysis_free(&a);
	ls_analysis_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workload_killed),	     cmocka_unit_test(test_recorder_killed),
		cmocka_unit_test(test_trace_itself),	     cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_loss_counted_exactly), cmocka_unit_test(test_many_tasks),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("faults (root + BPF)", tests, test_dir_setup,
					   test_dir_teardown);
}
