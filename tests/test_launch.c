// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Launching and stopping the traced command (tracer/launch.c): a command is sent SIGTERM before
 * SIGKILL, and a command reaped elsewhere is never signalled again, whoever has its pid since.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>
#include "launch.h"
#include "testutil.h"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void launch(struct ls_launch *l, char **argv)
{
	struct ls_user nobody = { .drop = false };
	const char *stage;

	assert_int_equal(ls_launch_prepare(l, argv, &nobody), 0);
	assert_true(l->pidfd >= 0);
	assert_int_equal(ls_launch_start(l, &stage), 0);
}

/* A running command gets SIGTERM, and the time to act on it. */
static void test_sigterm_first(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.05; done",
			 NULL };
	struct ls_launch l;
	int status;

	launch(&l, argv);
	usleep(300 * 1000); /* the trap is set */
	status = ls_launch_abort(&l);
	print_message("  status %#x\n", status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_int_equal(l.pid, -1);
}

/* One that ignores it gets SIGKILL after the grace period, not before. */
static void test_sigkill_after_grace(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "trap '' TERM; sleep 20", NULL };
	struct ls_launch l;
	long long t0;
	int status;

	launch(&l, argv);
	usleep(300 * 1000);
	t0 = mono_ms();
	status = ls_launch_stop(&l, 500);
	print_message("  status %#x after %lld ms\n", status, mono_ms() - t0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_true(mono_ms() - t0 >= 450);
}

/*
 * In a PID namespace of its own, the test makes the kernel hand the reaped command's pid to
 * another process (ns_last_pid), then aborts: that process must live. Exit status 0 when it does.
 */
static int reuse_in_namespace(void)
{
	char *argv[] = { "/bin/true", NULL };
	struct ls_launch l;
	struct ls_user me = { .drop = false };
	const char *stage;
	char last[16];
	pid_t victim;
	FILE *f;
	int alive;

	if (ls_launch_prepare(&l, argv, &me) || ls_launch_start(&l, &stage))
		return 10;
	if (waitpid(l.pid, NULL, 0) != l.pid) /* as record's waitpid(-1) does */
		return 11;
	f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (!f)
		return 12;
	snprintf(last, sizeof(last), "%d", l.pid - 1);
	fputs(last, f);
	if (fclose(f))
		return 12;
	victim = fork();
	if (victim == 0) {
		pause();
		_exit(0);
	}
	if (victim != l.pid)
		return 13; /* the kernel gave another pid: nothing tested */
	ls_launch_abort(&l);
	usleep(100 * 1000);
	alive = waitpid(victim, NULL, WNOHANG) == 0;
	kill(victim, SIGKILL);
	return alive ? 0 : 1;
}

static void test_reaped_pid_reused(void **state)
{
	pid_t init;
	int rc;

	if (geteuid() != 0) {
		print_message("SKIP: needs root for a PID namespace (run: sudo make test)\n");
		skip();
	}
	/*
	 * The namespace is made in a child, so that this process's own later children (a sanitizer's
	 * leak checker, at exit) do not land in it once it is gone.
	 */
	init = fork();
	if (init == 0) {
		if (unshare(CLONE_NEWPID))
			_exit(14);
		init = fork(); /* pid 1 of the new namespace */
		if (init == 0)
			_exit(reuse_in_namespace());
		_exit(wait_exit(init));
	}
	rc = wait_exit(init);
	if (rc == 14) {
		print_message("SKIP: cannot make a PID namespace\n");
		skip();
	}
	print_message("  in the namespace: %d (0: the process given the pid lived)\n", rc);
	assert_int_not_equal(rc, 13);
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigterm_first),
		cmocka_unit_test(test_sigkill_after_grace),
		cmocka_unit_test(test_reaped_pid_reused),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("launch", tests, NULL, NULL);
}
