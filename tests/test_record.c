// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope record end to end (root + BPF): recordings checked against the ground truth that the
 * workload measures itself, attaching to a running process, running as the sudo user, and the
 * errors a user can run into.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "analyze.h"
#include "testutil.h"

struct proc_sum {
	__u64 vol, invol, threads;
};

static struct proc_sum process_sum(const struct ls_analysis *a, __u32 tgid)
{
	struct proc_sum s = { 0 };
	struct ls_thread *t;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		if (t->tgid != tgid)
			continue;
		s.vol += t->vol_switches;
		s.invol += t->invol_switches;
		s.threads++;
	}
	return s;
}

static void check_close(const char *what, long long got, long long want, long long floor,
			double pct)
{
	print_message("  %-28s recorded %10lld   workload %10lld\n", what, got, want);
	assert_true(within(got, want, floor, pct));
}

/* Every futex word of the workload: blocked and no-block waits exactly as it counted them. */
static void check_words(const struct ls_analysis *a, __u32 tgid, const char *truth)
{
	long long n = json_num(truth, "threads");

	assert_true(n > 0);
	for (long long i = 0; i < n; i++) {
		char key[64], what[64];
		struct ls_lock_key k = { .tgid = tgid };
		struct ls_lock *l;

		snprintf(key, sizeof(key), "word%lld_addr", i);
		k.uaddr = json_num(truth, key);
		l = ls_htab_find(&a->locks, &k);
		assert_non_null(l);
		snprintf(key, sizeof(key), "word%lld_blocked", i);
		snprintf(what, sizeof(what), "word %lld blocking waits", i);
		check_close(what, l->blocked, json_num(truth, key), 0, 0);
		snprintf(key, sizeof(key), "word%lld_noblock", i);
		snprintf(what, sizeof(what), "word %lld no-block waits", i);
		check_close(what, l->outcomes[LS_OUT_NOBLOCK], json_num(truth, key), 0, 0);
	}
}

static void test_launch_matches_ground_truth(void **state)
{
	char *argv[] = { LOCKSCOPE,   "record",
			 "-o",	      (char *)test_path("pp.data"),
			 "--",	      WORKLOAD("pingpong"),
			 "--threads", "3",
			 "--rounds",  "3000",
			 "--spin-ms", "150",
			 "--truth",   (char *)test_path("pp.json"),
			 NULL };
	struct ls_analysis a;
	struct proc_sum s;
	const char *truth;

	SKIP_WITHOUT_BPF();
	assert_int_equal(run(argv, test_path("pp.out"), NULL), 0);
	assert_int_equal(load_trace(test_path("pp.data"), &a), 0);
	assert_int_equal(a.hdr.mode, LS_MODE_LAUNCH);
	assert_int_equal(a.nr_lost, 0);
	assert_int_equal(a.end.stop_reason, LS_STOP_EXITED);
	assert_int_equal(a.end.exit_status, 0);
	truth = slurp(test_path("pp.json"));
	s = process_sum(&a, a.hdr.target_pid);
	/* main + 3 ring threads + 4 spinners */
	assert_int_equal(s.threads, 8);
	check_close("voluntary switches", s.vol, json_num(truth, "vol_switches"), 2, 1);
	check_close("involuntary switches", s.invol, json_num(truth, "invol_switches"), 2, 1);
	check_words(&a, a.hdr.target_pid, truth);
	ls_analysis_free(&a);
}

static void test_attach_sees_later_threads(void **state)
{
	char *wl[] = { WORKLOAD("pingpong"),
		       "--threads",
		       "3",
		       "--rounds",
		       "1000",
		       "--spin-ms",
		       "0",
		       "--delay-ms",
		       "500",
		       "--truth",
		       (char *)test_path("p.json"),
		       NULL };
	char pidbuf[16];
	char *rec[] = {
		LOCKSCOPE, "record", "-o", (char *)test_path("p.data"), "-p", pidbuf, NULL
	};
	struct ls_analysis a;
	struct proc_sum s;
	pid_t wpid;

	SKIP_WITHOUT_BPF();
	wpid = spawn(wl, test_path("p.wl.out"), NULL, -1);
	usleep(100 * 1000); /* started, sleeping before it makes any thread */
	snprintf(pidbuf, sizeof(pidbuf), "%d", wpid);
	assert_int_equal(run(rec, test_path("p.out"), NULL), 0); /* stops when the workload exits */
	assert_int_equal(wait_exit(wpid), 0);
	assert_int_equal(load_trace(test_path("p.data"), &a), 0);
	assert_int_equal(a.hdr.mode, LS_MODE_PID);
	assert_int_equal(a.hdr.target_pid, wpid);
	assert_non_null(strstr(a.cmdline, "pingpong"));
	s = process_sum(&a, wpid);
	print_message("  threads seen: %llu\n", (unsigned long long)s.threads);
	assert_int_equal(s.threads, 4); /* main, seen at attach, and 3 created later */
	check_words(&a, wpid, slurp(test_path("p.json")));
	ls_analysis_free(&a);
}

/* A directory where anybody may create files: where the sudo-user tests write their traces */
static const char *open_dir(void)
{
	const char *dir = test_path("open");

	mkdir(dir, 0777);
	assert_int_equal(chmod(dir, 0777), 0);
	return dir;
}

static void test_runs_as_sudo_user(void **state)
{
	char data[300];
	char *argv[] = { LOCKSCOPE, "record",  "-o", data,
			 "--",	    "/bin/sh", "-c", "id -u; id -g; id -G",
			 NULL };
	char *env[] = { "SUDO_UID=65534", "SUDO_GID=65534", NULL };
	struct stat st;
	const char *out;

	SKIP_WITHOUT_BPF();
	snprintf(data, sizeof(data), "%s/u.data", open_dir());
	assert_int_equal(run(argv, test_path("u.out"), env), 0);
	out = slurp(test_path("u.out"));
	print_message("  id says: %.40s\n", out);
	assert_true(!strncmp(out, "65534\n65534\n65534\n", 18));
	assert_int_equal(stat(data, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void expect_error(char *const argv[], char *const env[], int run_as, const char *message);

/*
 * Under sudo, -o has the invoking user's rights and no more: it neither creates a file in a
 * directory only root may write, nor renames root's file out of the way (a sticky directory,
 * as /tmp), nor touches a root-only file; where the user may write, it works as before.
 */
static void test_output_as_sudo_user(void **state)
{
	char locked[300], victim[400], sticky[300], theirs[400], mine[400], old[420];
	char *argv[] = { LOCKSCOPE, "record", "-o", NULL, "--", "/bin/true", NULL };
	char *env[] = { "SUDO_UID=65534", "SUDO_GID=65534", NULL };
	struct stat st;

	SKIP_WITHOUT_BPF();
	/* a directory only root may enter, holding a root-only file */
	snprintf(locked, sizeof(locked), "%s", test_path("rootonly"));
	assert_int_equal(mkdir(locked, 0700), 0);
	snprintf(victim, sizeof(victim), "%s/x.data", locked);
	put_file(victim, "precious\n", 0600);
	argv[3] = victim;
	expect_error(argv, env, -1, "as uid 65534");
	assert_string_equal(slurp(victim), "precious\n");
	snprintf(old, sizeof(old), "%s.old", victim);
	assert_int_equal(stat(old, &st), -1);
	snprintf(theirs, sizeof(theirs), "%s/new.data", locked);
	argv[3] = theirs;
	expect_error(argv, env, -1, "cannot create");
	assert_int_equal(stat(theirs, &st), -1);

	/* a sticky directory anybody may write: root's file there is not the user's to rename */
	snprintf(sticky, sizeof(sticky), "%s", test_path("sticky"));
	assert_int_equal(mkdir(sticky, 0777), 0);
	assert_int_equal(chmod(sticky, 01777), 0);
	snprintf(theirs, sizeof(theirs), "%s/root.data", sticky);
	put_file(theirs, "root's\n", 0644);
	argv[3] = theirs;
	expect_error(argv, env, -1, "cannot rename");
	assert_string_equal(slurp(theirs), "root's\n");
	snprintf(old, sizeof(old), "%s.old", theirs);
	assert_int_equal(stat(old, &st), -1);

	/* where the user may write: created, theirs, and the previous one kept as .old */
	snprintf(mine, sizeof(mine), "%s/mine.data", open_dir());
	argv[3] = mine;
	assert_int_equal(run(argv, test_path("o.out"), env), 0);
	assert_int_equal(run(argv, test_path("o.out"), env), 0);
	assert_int_equal(stat(mine, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	snprintf(old, sizeof(old), "%s.old", mine);
	assert_int_equal(stat(old, &st), 0);
	assert_int_equal(st.st_uid, 65534);
}

/* -d stops the recording and the command; the file is complete and says why it stopped. */
static void test_duration_stops(void **state)
{
	char *argv[] = { LOCKSCOPE, "record",	  "-d", "0.3", "-o", (char *)test_path("d.data"),
			 "--",	    "/bin/sleep", "10", NULL };
	struct ls_analysis a;

	SKIP_WITHOUT_BPF();
	assert_int_equal(run(argv, test_path("d.out"), NULL), 128 + SIGTERM);
	assert_int_equal(load_trace(test_path("d.data"), &a), 0);
	assert_int_equal(a.end.stop_reason, LS_STOP_DURATION);
	print_message("  window %.3f s\n", (a.end_ns - a.start_ns) / 1e9);
	assert_true(a.end_ns - a.start_ns >= 300000000ULL);
	assert_true(a.end_ns - a.start_ns < 1000000000ULL);
	ls_analysis_free(&a);
}

/* SIGINT (the first Ctrl-C) and SIGTERM stop cleanly: a complete file; the command is stopped in
 * turn and its status is lockscope's. */
static void stop_by_signal(int sig)
{
	char *argv[] = { LOCKSCOPE, "record",	  "-o", (char *)test_path("i.data"),
			 "--",	    "/bin/sleep", "10", NULL };
	struct ls_analysis a;
	pid_t pid;

	SKIP_WITHOUT_BPF();
	pid = spawn(argv, test_path("i.out"), NULL, -1);
	usleep(500 * 1000);
	kill(pid, sig);
	assert_int_equal(wait_exit(pid), 128 + SIGTERM);
	assert_int_equal(load_trace(test_path("i.data"), &a), 0);
	assert_int_equal(a.end.stop_reason, LS_STOP_SIGNAL);
	assert_non_null(strstr(slurp(test_path("i.out")), "lockscope: recorded"));
	ls_analysis_free(&a);
}

static void test_sigint_stops_cleanly(void **state)
{
	stop_by_signal(SIGINT);
}

static void test_sigterm_stops_cleanly(void **state)
{
	stop_by_signal(SIGTERM);
}

static void expect_error(char *const argv[], char *const env[], int run_as, const char *message)
{
	const char *out;
	int rc = wait_exit(spawn(argv, test_path("err.out"), env, run_as));

	out = slurp(test_path("err.out"));
	print_message("  exit %d: %s", rc, out);
	assert_true(rc != 0);
	assert_non_null(strstr(out, message));
}

static void test_errors(void **state)
{
	char data[256]; /* its own buffer: test_path()'s are reused by expect_error() */
	char *no_pid[] = { LOCKSCOPE, "record", "-o", data, "-p", "999999999", NULL };
	char *kthread[] = { LOCKSCOPE, "record", "-o", data, "-p", "2", NULL };
	char *no_exec[] = { LOCKSCOPE, "record", "-o", data, "--", "/nonexistent/program", NULL };
	char *no_dir[] = { LOCKSCOPE, "record",	   "-o", "/nonexistent-dir/x.data",
			   "--",      "/bin/true", NULL };
	char *plain[] = { NULL, "record", "-o", data, "--", "/bin/true", NULL };
	char *no_btf[] = { "LOCKSCOPE_BTF=/nonexistent/vmlinux", NULL };
	char *usage[] = { LOCKSCOPE, "record", NULL };
	struct stat st;

	SKIP_WITHOUT_BPF();
	snprintf(data, sizeof(data), "%s", test_path("e.data"));
	expect_error(no_pid, NULL, -1, "no process with PID 999999999");
	expect_error(kthread, NULL, -1, "kernel thread");
	expect_error(no_exec, NULL, -1, "cannot run /nonexistent/program");
	/* a failed launch leaves no trace file behind */
	assert_int_equal(stat(data, &st), -1);
	expect_error(no_dir, NULL, -1, "cannot create /nonexistent-dir/x.data");
	/* run as nobody, who may not be able to reach our build tree: a copy in the test dir */
	plain[0] = (char *)copy_for_others(LOCKSCOPE, "lockscope-nobody");
	assert_non_null(plain[0]);
	expect_error(plain, NULL, 65534, "run it with sudo");
	plain[0] = LOCKSCOPE;
	assert_int_equal(stat(data, &st), -1); /* nothing written */
	expect_error(plain, no_btf, -1, "no BTF");
	expect_error(usage, NULL, -1, "give a command to run");
}

/*
 * With file capabilities (CAP_BPF, CAP_PERFMON) instead of sudo, a user may trace their own
 * processes but not another user's, as perf record -p.
 */
static void test_capabilities_own_processes_only(void **state)
{
	char capped[300], data[300], pidarg[16], cmd[700];
	char *argv[] = { capped, "record", "-d", "0.2", "-o", data, "-p", pidarg, NULL };
	pid_t theirs, mine;

	SKIP_WITHOUT_BPF();
	snprintf(capped, sizeof(capped), "%s", test_path("capped"));
	snprintf(data, sizeof(data), "%s", test_path("open/c.data"));
	snprintf(cmd, sizeof(cmd), "cp %s %s && setcap cap_bpf,cap_perfmon+ep %s 2>/dev/null",
		 LOCKSCOPE, capped, capped);
	if (system(cmd)) {
		print_message("SKIP: cannot give a copy of lockscope file capabilities (setcap)\n");
		skip();
	}
	open_dir();
	theirs = fork();
	if (theirs == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	mine = fork();
	if (mine == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(121);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100 * 1000);
	snprintf(pidarg, sizeof(pidarg), "%d", theirs);
	expect_error(argv, NULL, 65534, "is not yours");
	snprintf(pidarg, sizeof(pidarg), "%d", mine);
	assert_int_equal(wait_exit(spawn(argv, test_path("cap.out"), NULL, 65534)), 0);
	print_message("  own process: %s", slurp(test_path("cap.out")));
	kill(theirs, SIGKILL);
	kill(mine, SIGKILL);
	waitpid(theirs, NULL, 0);
	waitpid(mine, NULL, 0);
}

/* A symbolic link planted at the output path is not followed: its target stays untouched. */
static void test_output_symlink(void **state)
{
	char *argv[] = { LOCKSCOPE, "record",	 "-o", (char *)test_path("link.data"),
			 "--",	    "/bin/true", NULL };
	const char *target = test_path("victim");
	FILE *f;

	SKIP_WITHOUT_BPF();
	f = fopen(target, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(target, test_path("link.data")), 0);
	expect_error(argv, NULL, -1, "not a regular file");
	assert_string_equal(slurp(target), "precious\n");
}

/* The process whose main thread is called comm in a recording, 0 if none. */
static __u32 tgid_of(const struct ls_analysis *a, const char *comm)
{
	struct ls_thread *t;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos)))
		if (t->tid == t->tgid && !strcmp(t->comm, comm))
			return t->tgid;
	return 0;
}

/* The first child of pid, waiting up to 2 s for it to appear; -1 if none. */
static pid_t first_child(pid_t pid)
{
	char path[96];
	int child = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	for (int i = 0; i < 200 && child < 0; i++) {
		FILE *f = fopen(path, "r");

		if (f && fscanf(f, "%d", &child) != 1)
			child = -1;
		if (f)
			fclose(f);
		if (child < 0)
			usleep(10 * 1000);
	}
	return child;
}

/*
 * PID namespaces: the probes see the host's pids. lockscope inside a namespace of its own would
 * trace whichever host process has its child's number: it refuses, writing nothing. From the
 * host it records a workload inside one, launched or by -p with the host pid.
 */
static void test_pid_namespaces(void **state)
{
	char json[300], in_data[300], data[300], p_data[300];
	char *pp[] = {
		WORKLOAD("pingpong"), "--threads", "3",	      "--rounds", "1000", "--spin-ms", "0",
		"--delay-ms",	      "800",	   "--truth", json,	  NULL
	};
	char *inside[] = { "unshare", "-p",    "-f", "--mount-proc", LOCKSCOPE, "record",
			   "-o",      in_data, "--", pp[0],	     NULL };
	char *launched[24] = { LOCKSCOPE, "record", "-o", data,		 "--",
			       "unshare", "-p",	    "-f", "--mount-proc" };
	char *contained[24] = { "unshare", "-p", "-f", "--mount-proc" };
	char pidarg[16];
	char *attach[] = { LOCKSCOPE, "record", "-o", p_data, "-p", pidarg, NULL };
	struct ls_analysis a;
	struct stat st;
	pid_t outer, wpid;
	__u32 tgid;

	SKIP_WITHOUT_BPF();
	/* test_path's buffers are reused: the paths the argv keep are copied */
	snprintf(json, sizeof(json), "%s", test_path("ns.json"));
	snprintf(in_data, sizeof(in_data), "%s", test_path("ns-in.data"));
	snprintf(data, sizeof(data), "%s", test_path("ns.data"));
	snprintf(p_data, sizeof(p_data), "%s", test_path("ns-p.data"));
	if (system("unshare -p -f --mount-proc true 2>/dev/null")) {
		print_message("SKIP: cannot make a PID namespace (unshare -p -f --mount-proc)\n");
		skip();
	}
	expect_error(inside, NULL, -1, "PID namespace of its own");
	assert_int_equal(stat(in_data, &st), -1);

	for (int i = 0; pp[i]; i++)
		launched[9 + i] = pp[i];
	assert_int_equal(run(launched, test_path("ns.out"), NULL), 0);
	assert_int_equal(load_trace(data, &a), 0);
	tgid = tgid_of(&a, "pingpong");
	assert_true(tgid > 0);
	print_message("  launched: pingpong is %u on the host, %llu threads\n", tgid,
		      (unsigned long long)process_sum(&a, tgid).threads);
	assert_int_equal(process_sum(&a, tgid).threads, 4);
	check_words(&a, tgid, slurp(json));
	ls_analysis_free(&a);

	for (int i = 0; pp[i]; i++)
		contained[4 + i] = pp[i];
	outer = spawn(contained, test_path("ns-wl.out"), NULL, -1);
	wpid = first_child(outer); /* pid 1 of the namespace, by its host pid */
	assert_true(wpid > 0);
	usleep(100 * 1000); /* exec'd, sleeping before its threads */
	snprintf(pidarg, sizeof(pidarg), "%d", wpid);
	assert_int_equal(run(attach, test_path("ns-p.out"), NULL), 0);
	assert_int_equal(wait_exit(outer), 0);
	assert_int_equal(load_trace(p_data, &a), 0);
	assert_int_equal(a.hdr.target_pid, wpid);
	print_message("  -p %d: %llu threads\n", wpid,
		      (unsigned long long)process_sum(&a, wpid).threads);
	assert_int_equal(process_sum(&a, wpid).threads, 4);
	check_words(&a, wpid, slurp(json));
	ls_analysis_free(&a);
}

/* The uprobes lockscope pid holds, as bpftool shows them: their count; *by_fd those on /proc/self/fd/N. */
static int uprobes_of(pid_t pid, int *by_fd)
{
	char cmd[96], line[512];
	int n = 0;
	FILE *p;

	*by_fd = 0;
	snprintf(cmd, sizeof(cmd), "bpftool perf show pid %d 2>/dev/null", pid);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (!strstr(line, "uprobe") && !strstr(line, "uretprobe"))
			continue;
		n++;
		*by_fd += strstr(line, "filename /proc/self/fd/") != NULL;
		print_message("  %s", line);
	}
	pclose(p);
	return n;
}

/* Run rec until its trace has a header (the probes are attached by then): its uprobes, as above. */
static int uprobes_while_recording(char *const rec[], const char *data, int *by_fd)
{
	pid_t pid = spawn(rec, test_path("gp.out"), NULL, -1);
	struct stat st;
	int n = -1;

	for (int i = 0; i < 500; i++) {
		if (!stat(data, &st) && st.st_size > 0) {
			n = uprobes_of(pid, by_fd);
			break;
		}
		usleep(10 * 1000);
	}
	if (wait_exit(pid))
		fail_msg("%s", slurp(test_path("gp.out")));
	return n;
}

/*
 * --gil=probes puts the uprobes on the interpreter file that pyfind checked, through its open
 * descriptor (/proc/self/fd/N, which the kernel resolves to that open file), not on a path
 * that the process's owner could point at another file before the kernel looks it up.
 */
static void test_gil_probes_through_descriptor(void **state)
{
	static const char python[] = "/root/.pyenv/versions/3.11.7/bin/python3.11";
	char *py[] = { (char *)python, "-c",
		       "import threading, time\n"
		       "def spin():\n"
		       "    end = time.time() + 3\n"
		       "    while time.time() < end: pass\n"
		       "ts = [threading.Thread(target=spin) for _ in range(2)]\n"
		       "[t.start() for t in ts]; [t.join() for t in ts]\n",
		       NULL };
	char data[300], pidarg[16];
	char *attach[] = { LOCKSCOPE, "record", "--gil=probes", "-d",	"1",
			   "-o",      data,	"-p",		pidarg, NULL };
	char *launch[] = { LOCKSCOPE, "record", "--gil=probes", "-o",  data,
			   "--",      py[0],	py[1],		py[2], NULL };
	int n, by_fd;
	pid_t wpid;

	SKIP_WITHOUT_BPF();
	if (access(python, X_OK) || system("bpftool version >/dev/null 2>&1")) {
		print_message("SKIP: needs %s (with symbols) and bpftool\n", python);
		skip();
	}
	snprintf(data, sizeof(data), "%s", test_path("gp.data"));
	wpid = spawn(py, test_path("gp.py.out"), NULL, -1);
	usleep(200 * 1000);
	snprintf(pidarg, sizeof(pidarg), "%d", wpid);
	n = uprobes_while_recording(attach, data, &by_fd);
	assert_int_equal(wait_exit(wpid), 0);
	print_message("  -p: %d uprobes, %d through a descriptor\n", n, by_fd);
	assert_true(n >= 3); /* take_gil entry and return, drop_gil */
	assert_int_equal(by_fd, n);

	unlink(data);
	n = uprobes_while_recording(launch, data, &by_fd);
	print_message("  launched: %d uprobes, %d through a descriptor\n", n, by_fd);
	assert_true(n >= 3);
	assert_int_equal(by_fd, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launch_matches_ground_truth),
		cmocka_unit_test(test_attach_sees_later_threads),
		cmocka_unit_test(test_runs_as_sudo_user),
		cmocka_unit_test(test_output_as_sudo_user),
		cmocka_unit_test(test_duration_stops),
		cmocka_unit_test(test_sigint_stops_cleanly),
		cmocka_unit_test(test_sigterm_stops_cleanly),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_capabilities_own_processes_only),
		cmocka_unit_test(test_output_symlink),
		cmocka_unit_test(test_pid_namespaces),
		cmocka_unit_test(test_gil_probes_through_descriptor),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("record (root + BPF)", tests, test_dir_setup,
					   test_dir_teardown);
}
