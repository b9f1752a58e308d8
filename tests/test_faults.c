// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Faults (root + BPF): the workload or the recorder killed, signals, a full disk (mid-recording
 * and from the start), lockscope told to trace itself, a process exiting as it is attached, a map
 * the recorder cannot read, a thousand threads and two hundred processes, renames and an exec,
 * two hundred processes under --stacks, a steady rate for 20 s (make soak, short).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <time.h>
#include <cmocka.h>
#include "analyze.h"
#include "testutil.h"

#define MAX_IDS 64

/* The BPF programs and links a recorder holds open, by kernel id. */
struct held_bpf {
	unsigned int progs[MAX_IDS], links[MAX_IDS];
	int nr_progs, nr_links;
	int nr_pidfds; /* not BPF: the pidfd that watches an attached process */
};

static void add_id(unsigned int *ids, int *nr, unsigned int id)
{
	for (int i = 0; i < *nr; i++)
		if (ids[i] == id)
			return;
	if (*nr < MAX_IDS)
		ids[(*nr)++] = id;
}

/*
 * What pid holds, from /proc/PID/fdinfo: ids, unlike names, tell its programs from those of any
 * other lockscope running on the machine at the same time.
 */
static void held_bpf(pid_t pid, struct held_bpf *h)
{
	char dir[64], path[320], line[128];
	struct dirent *de;
	unsigned int id;
	DIR *d;

	memset(h, 0, sizeof(*h));
	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "prog_id: %u", &id) == 1)
				add_id(h->progs, &h->nr_progs, id);
			else if (sscanf(line, "link_id: %u", &id) == 1)
				add_id(h->links, &h->nr_links, id);
			else if (sscanf(line, "Pid: %u", &id) == 1)
				h->nr_pidfds++;
		}
		fclose(f);
	}
	closedir(d);
}

/* How many of ids[] a bpftool listing ("prog" or "link") still shows. */
static int listed(const char *what, const unsigned int *ids, int nr)
{
	char cmd[64], line[512];
	unsigned int id;
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "bpftool %s show 2>/dev/null", what);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%u:", &id) != 1)
			continue;
		for (int i = 0; i < nr; i++)
			n += ids[i] == id;
	}
	pclose(p);
	return n;
}

/*
 * Wait up to 5 s for the kernel to free them (after an RCU grace period once the last file
 * descriptor closes): the programs and links still listed, 0 when none.
 */
static int wait_unloaded(const struct held_bpf *h)
{
	int n = -1;

	for (int i = 0; i < 50; i++) {
		n = listed("prog", h->progs, h->nr_progs) + listed("link", h->links, h->nr_links);
		if (!n)
			break;
		usleep(100 * 1000);
	}
	print_message("  %d programs and %d links held; still listed once it is gone: %d\n",
		      h->nr_progs, h->nr_links, n);
	return n;
}

/*
 * Wait up to 10 s for a recorder to be recording (probes attached, its first write flushed to
 * the trace), and note the programs and links it holds. 0, or -1 if it never got there.
 */
static int wait_recording(pid_t pid, const char *trace, struct held_bpf *h)
{
	struct stat st;

	for (int i = 0; i < 1000; i++) {
		if (!stat(trace, &st) && st.st_size > 0) {
			held_bpf(pid, h);
			return h->nr_links > 0 ? 0 : -1;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(10 * 1000);
	}
	return -1;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* wait_exit() for at most ms milliseconds; past that the process is killed and -1 returned. */
static int wait_exit_within(pid_t pid, int ms)
{
	long long end = mono_ms() + ms;
	int st;

	while (mono_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
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
	struct held_bpf held;
	struct ls_analysis a;
	pid_t pid;

	SKIP_WITHOUT_BPF();
	pid = spawn(argv, test_path("r.out"), NULL, -1);
	assert_int_equal(wait_recording(pid, test_path("r.data"), &held), 0);
	usleep(500 * 1000);
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
	assert_int_equal(wait_unloaded(&held), 0);
}

/*
 * The first SIGINT or SIGTERM stops cleanly, the next kills at once. The command ignores both:
 * after the first signal the recorder finishes the file, sends the command SIGTERM and gives it
 * 2 s before SIGKILL; the second signal arrives during that wait and must not wait for it.
 */
static void two_signals(int first, int second)
{
	char *argv[] = { LOCKSCOPE, "record",  (char *)"-o", (char *)test_path("sig2.data"),
			 "--",	    "/bin/sh", "-c",	     "trap '' INT TERM; exec sleep 30",
			 NULL };
	const char *out = test_path("sig2.out");
	struct held_bpf held;
	struct ls_analysis a;
	long long t0;
	int status;
	pid_t pid;

	SKIP_WITHOUT_BPF();
	unlink(test_path("sig2.data"));
	pid = spawn(argv, out, NULL, -1);
	assert_int_equal(wait_recording(pid, test_path("sig2.data"), &held), 0);
	kill(pid, first);
	/* the trace is complete once it says so; then it waits for the command */
	for (int i = 0; i < 500 && !strstr(slurp(out), "lockscope: recorded"); i++)
		usleep(10 * 1000);
	assert_non_null(strstr(slurp(out), "lockscope: recorded"));
	usleep(100 * 1000);
	t0 = mono_ms();
	kill(pid, second);
	status = wait_exit_within(pid, 3000);
	print_message("  %s then %s: exit status %d, %lld ms after the second signal\n",
		      strsignal(first), strsignal(second), status, mono_ms() - t0);
	assert_int_equal(status, 128 + second);
	assert_true(mono_ms() - t0 < 500); /* well within the command's 2 s */
	assert_int_equal(load_trace(test_path("sig2.data"), &a), 0);
	assert_int_equal(a.end.stop_reason, LS_STOP_SIGNAL);
	kill(a.hdr.target_pid, SIGKILL); /* the command, left running as the user asked */
	ls_analysis_free(&a);
	assert_int_equal(wait_unloaded(&held), 0);
}

static void test_second_sigint_kills(void **state)
{
	two_signals(SIGINT, SIGINT);
}

static void test_sigterm_then_sigint_kills(void **state)
{
	two_signals(SIGTERM, SIGINT);
}

/*
 * One run of record -p on a process that exits about when lockscope attaches: a clear error
 * (status 1, no file) or a complete recording that ends with the exit. Never a hang, a crash or
 * a file cut short. Returns 1 for an error, 0 for a recording.
 */
static int attach_to_exiting(pid_t target, bool stopped)
{
	char pidarg[16];
	char *argv[] = {
		LOCKSCOPE, "record", "-p", pidarg, "-o", (char *)test_path("x.data"), NULL
	};
	const char *out = test_path("x.out");
	struct held_bpf held = {};
	struct ls_analysis a;
	struct stat st;
	int status;
	pid_t pid;

	snprintf(pidarg, sizeof(pidarg), "%d", target);
	unlink(test_path("x.data"));
	pid = spawn(argv, out, NULL, -1);
	if (stopped) {
		siginfo_t si = {};

		/*
		 * Once the recorder watches the target (its pidfd is open; loading the programs,
		 * tens of ms, comes next), it is held while the target is killed and reaped: the
		 * exit lands in the attach.
		 */
		for (long long end = mono_ms() + 10000; mono_ms() < end && !held.nr_pidfds;) {
			if (!waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid)
				break; /* it failed first */
			held_bpf(pid, &held);
		}
		kill(pid, SIGSTOP);
		waitid(P_PID, pid, &si, WSTOPPED | WEXITED | WNOWAIT);
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		kill(pid, SIGCONT);
	}
	waitpid(target, NULL, 0);
	status = wait_exit_within(pid, 10000);
	if (status == 1) {
		const char *msg = slurp(out);

		if (!strstr(msg, "has exited") && !strstr(msg, "exited while") &&
		    !strstr(msg, "no process with PID"))
			fail_msg("status 1 with: %s", msg);
		assert_int_equal(stat(test_path("x.data"), &st), -1);
		return 1;
	}
	if (status != 0)
		print_message("  %s", slurp(out));
	assert_int_equal(status, 0);
	assert_int_equal(load_trace(test_path("x.data"), &a), 0);
	assert_int_equal(a.end.stop_reason, LS_STOP_EXITED);
	ls_analysis_free(&a);
	return 0;
}

static void test_pid_exits_during_attach(void **state)
{
	int errors = 0, recorded = 0, stopped_errors = 0;

	SKIP_WITHOUT_BPF();
	/* exits after 0 to 300 ms, across lockscope's start-up (tens of ms) */
	for (int i = 0; i < 20; i++) {
		int delay_ms = i < 16 ? i * 5 : 100 * (i - 15);
		pid_t target = fork();

		if (target == 0) {
			usleep(delay_ms * 1000);
			_exit(0);
		}
		if (attach_to_exiting(target, false))
			errors++;
		else
			recorded++;
	}
	/* stopped, and killed while lockscope loads its programs: always an error */
	for (int i = 0; i < 5; i++) {
		pid_t target = fork();

		if (target == 0) {
			raise(SIGSTOP);
			_exit(0);
		}
		waitpid(target, NULL, WUNTRACED);
		if (attach_to_exiting(target, true) && strstr(slurp(test_path("x.out")), "exited"))
			stopped_errors++;
		else
			print_message("  killed during the attach: %s", slurp(test_path("x.out")));
	}
	print_message("  exits after 0-300 ms: %d errors, %d complete recordings; killed during "
		      "the attach: %d of 5 said so\n",
		      errors, recorded, stopped_errors);
	/* the first runs exit before lockscope is up, the last ones well after */
	assert_true(errors > 0);
	assert_true(recorded > 0);
	/* the window opens after the programs are loaded and attached: too late for these */
	assert_int_equal(stopped_errors, 5);
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

/* Mount a tmpfs of size bytes at dir (made here); false, having said why, if it cannot. */
static bool small_tmpfs(const char *dir, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s", size);
	assert_int_equal(mkdir(dir, 0755), 0);
	if (mount("tmpfs", dir, "tmpfs", 0, opts)) {
		print_message("SKIP: cannot mount a small tmpfs: %s\n", strerror(errno));
		return false;
	}
	return true;
}

/* A failed test leaves its tmpfs mounted: the group's teardown could not remove it. */
static int unmount_small(void **state)
{
	umount2(test_path("small"), MNT_DETACH);
	umount2(test_path("full"), MNT_DETACH);
	return 0;
}

/*
 * The disk fills mid-recording: status 1, a message naming the file and the error, and the file
 * kept up to its last whole record, which report reads with a TRUNCATED warning (status 1). The
 * previous file stays FILE.old.
 */
static void test_disk_full(void **state)
{
	char dir[256], out[300], old[310];
	char *argv[] = { LOCKSCOPE,   "record",	   "-o",
			 out,	      "--",	   WORKLOAD("pingpong"),
			 "--threads", "2",	   "--rounds",
			 "20000",     "--spin-ms", "0",
			 NULL };
	char *report[] = { LOCKSCOPE, "report", out, NULL };
	struct ls_analysis a;
	FILE *f;

	SKIP_WITHOUT_BPF();
	snprintf(dir, sizeof(dir), "%s", test_path("small"));
	snprintf(out, sizeof(out), "%s/full.data", dir);
	snprintf(old, sizeof(old), "%s.old", out);
	if (!small_tmpfs(dir, "64k"))
		skip();
	f = fopen(out, "w");
	assert_non_null(f);
	fputs("previous", f);
	fclose(f);
	assert_int_equal(run(argv, test_path("f.out"), NULL), 1);
	print_message("  %s", slurp(test_path("f.out")));
	assert_non_null(strstr(slurp(test_path("f.out")), out));
	assert_non_null(strstr(slurp(test_path("f.out")), "No space left"));
	assert_string_equal(slurp(old), "previous");
	assert_int_equal(load_trace(out, &a), 1);
	print_message("  kept: %llu records\n", (unsigned long long)a.nr_records);
	assert_true(a.nr_records > 100);
	ls_analysis_free(&a);
	assert_int_equal(run(report, test_path("f.report"), NULL), 1);
	assert_non_null(strstr(slurp(test_path("f.report")), "TRUNCATED"));
}

/*
 * The disk is full from the start: not a byte of the new file reaches it. Nothing usable was
 * written, so nothing is left in its place: the previous file is put back, no FILE.old.
 */
static void test_disk_full_from_start(void **state)
{
	char dir[256], out[300], old[310], fill[300], buf[4096] = { 0 };
	char *argv[] = { LOCKSCOPE, "record", "-o", out, "--", WORKLOAD("pingpong"), NULL };
	struct stat st;
	FILE *f;
	int fd;

	SKIP_WITHOUT_BPF();
	snprintf(dir, sizeof(dir), "%s", test_path("full"));
	snprintf(out, sizeof(out), "%s/full.data", dir);
	snprintf(old, sizeof(old), "%s.old", out);
	snprintf(fill, sizeof(fill), "%s/filler", dir);
	if (!small_tmpfs(dir, "64k"))
		skip();
	f = fopen(out, "w");
	assert_non_null(f);
	fputs("previous", f);
	fclose(f);
	fd = open(fill, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	assert_int_equal(run(argv, test_path("ff.out"), NULL), 1);
	print_message("  %s", slurp(test_path("ff.out")));
	assert_non_null(strstr(slurp(test_path("ff.out")), "No space left"));
	assert_string_equal(slurp(out), "previous");
	assert_int_equal(stat(old, &st), -1);
}

/* The lowest descriptor number pid has free: the number its next open would get. */
static int lowest_free_fd(pid_t pid)
{
	char path[64];
	int fd;

	for (fd = 0;; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		if (access(path, F_OK) && errno == ENOENT)
			return fd;
	}
}

/*
 * A map that cannot be read is a side error, not the end of the recording. As root, lockscope
 * may read any process's /proc/PID/maps (so may a user with CAP_PERFMON, even a setuid
 * program's); what is left is the recorder's own limits. Once it is recording, its descriptor
 * limit is lowered to the descriptors it holds, so that its next open fails (EMFILE); then the
 * command starts its futex traffic, whose first record asks for a snapshot of its map. The
 * recording goes on to the command's exit, and the report says the snapshots failed, and why.
 */
static void test_maps_unreadable(void **state)
{
	char fifo[300], data[300], cmd[700];
	char *argv[] = { LOCKSCOPE, "record",  "--gil=off", "-o", data,
			 "--",	    "/bin/sh", "-c",	    cmd,  NULL };
	char *report[] = { LOCKSCOPE, "report", data, NULL };
	char *report_json[] = { LOCKSCOPE, "report", "--format", "json", data, NULL };
	struct held_bpf held;
	struct ls_analysis a;
	struct rlimit lim;
	const char *out;
	int fd, rc;
	pid_t pid;

	SKIP_WITHOUT_BPF();
	snprintf(fifo, sizeof(fifo), "%s", test_path("go"));
	snprintf(data, sizeof(data), "%s", test_path("emfile.data"));
	snprintf(cmd, sizeof(cmd), "read go < %s; exec %s --threads 2 --rounds 2000 --spin-ms 0",
		 fifo, WORKLOAD("pingpong"));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pid = spawn(argv, test_path("emfile.out"), NULL, -1);
	assert_int_equal(wait_recording(pid, data, &held), 0);
	usleep(200 * 1000); /* past the exec of sh and what the recorder does about it */
	lim.rlim_cur = lim.rlim_max = lowest_free_fd(pid);
	print_message("  recorder's descriptors limited to %d\n", (int)lim.rlim_cur);
	assert_int_equal(prlimit(pid, RLIMIT_NOFILE, &lim, NULL), 0);
	fd = open(fifo, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "go\n", 3), 3);
	close(fd);
	rc = wait_exit_within(pid, 20000);
	out = slurp(test_path("emfile.out"));
	print_message("  exit %d: %s", rc, out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "could not be read"));
	assert_int_equal(load_trace(data, &a), 0);
	assert_int_equal(a.end.stop_reason, LS_STOP_EXITED);
	assert_true(WIFEXITED(a.end.exit_status) && WEXITSTATUS(a.end.exit_status) == 0);
	assert_true(a.nr_maps_failed >= 1);
	assert_int_equal(a.maps_failed_err, EMFILE);
	assert_true(a.nr_kernel_records > 4000); /* both threads' 2000 rounds, recorded */
	ls_analysis_free(&a);
	assert_int_equal(run(report, test_path("emfile.report"), NULL), 0);
	out = slurp(test_path("emfile.report"));
	assert_non_null(strstr(out, "WARNING"));
	assert_non_null(strstr(out, "Too many open files"));
	assert_int_equal(run(report_json, test_path("emfile.json"), NULL), 0);
	out = slurp(test_path("emfile.json"));
	assert_true(json_num(out, "map_snapshots_failed") >= 1);
	assert_non_null(strstr(out, "\"map_snapshot_error\": \"Too many open files\""));
}

/* Open descriptors and resident memory (VmRSS) of pid, as it stands. */
static void fds_and_rss(pid_t pid, int *fds, long *rss_kb)
{
	char path[64], line[128];
	struct dirent *de;
	DIR *d;
	FILE *f;

	*fds = 0;
	*rss_kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	while (d && (de = readdir(d)))
		*fds += de->d_name[0] != '.';
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "VmRSS: %ld", rss_kb);
	if (f)
		fclose(f);
}

/*
 * Once the command reaches `read go < FIFO`, and the recorder has unwound what came before (it
 * drains every 10 ms with --stacks): its descriptors and RSS then. The read is let go after.
 */
static void measure_at(const char *fifo, pid_t recorder, int *fds, long *rss_kb)
{
	int fd = open(fifo, O_WRONLY); /* returns once the command opens it */

	assert_true(fd >= 0);
	usleep(300 * 1000);
	fds_and_rss(recorder, fds, rss_kb);
	assert_int_equal(write(fd, "go\n", 3), 3);
	close(fd);
}

/*
 * With --stacks, each process sampled gets a libdw session (its ELF files open, their data read).
 * Two hundred short processes, each with two threads taking turns on a lock, so that both block
 * in futex waits and are sampled, then spinning for 20 ms, so that they are unwound while alive:
 * the recorder's descriptors and RSS after the last are those after the first twenty. Each
 * session is freed at its process's exit.
 */
static void test_stacks_many_processes(void **state)
{
	char fifo1[300], fifo2[300], data[300], cmd[1000];
	char *argv[] = { LOCKSCOPE, "record",  "--stacks", "--gil=off", "-o", data,
			 "--",	    "/bin/sh", "-c",	   cmd,		NULL };
	int fds1, fds2, rc;
	long rss1, rss2;
	struct ls_analysis a;
	pid_t pid;

	SKIP_WITHOUT_BPF();
	snprintf(fifo1, sizeof(fifo1), "%s", test_path("after20"));
	snprintf(fifo2, sizeof(fifo2), "%s", test_path("after200"));
	snprintf(data, sizeof(data), "%s", test_path("procs.data"));
	snprintf(cmd, sizeof(cmd),
		 "run() { i=0; while [ $i -lt $1 ]; do %s --threads 2 --rounds 20 --spin-ms 20 "
		 ">/dev/null || exit 1; i=$((i + 1)); done; }; run 20; read go < %s; run 180; "
		 "read go < %s",
		 WORKLOAD("pingpong"), fifo1, fifo2);
	assert_int_equal(mkfifo(fifo1, 0600), 0);
	assert_int_equal(mkfifo(fifo2, 0600), 0);
	pid = spawn(argv, test_path("procs.out"), NULL, -1);
	measure_at(fifo1, pid, &fds1, &rss1);
	measure_at(fifo2, pid, &fds2, &rss2);
	rc = wait_exit_within(pid, 20000);
	print_message("  recorder after 20 processes: %d descriptors, RSS %ld kB; after 200: %d, "
		      "%ld kB\n  %s",
		      fds1, rss1, fds2, rss2, slurp(test_path("procs.out")));
	assert_int_equal(rc, 0);
	assert_int_equal(load_trace(data, &a), 0);
	assert_true(a.has_stacks);
	ls_analysis_free(&a);
	assert_true(fds2 <= fds1);
	/*
	 * 180 sessions kept took 57 MB and 387 descriptors here. What stays, about 3.5 kB a
	 * process (650 kB), is by design: each task, for the final task table, and each distinct
	 * stack, which is keyed by its process. ASan keeps what is freed in quarantine: there, the
	 * descriptors tell.
	 */
#ifndef __SANITIZE_ADDRESS__
	assert_true(rss2 - rss1 < 2048);
#endif
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
 * The records a run of spawn makes besides its wakes, at most: for each of its context switches
 * (getrusage's, since its fork) one as it leaves a CPU, one as it comes back, and for a voluntary
 * one the wakeup that ends it; and a few dozen for its start and exit.
 */
static __u64 records_besides_wakes(const char *truth)
{
	const char *t = slurp(truth);
	long long vol = json_num(t, "vol_switches_life"),
		  invol = json_num(t, "invol_switches_life");

	assert_true(vol >= 0 && invol >= 0);
	return 3 * vol + 2 * invol + 100;
}

/*
 * A ring buffer far too small loses records, and counts each one: 200,000 futex wakes, one
 * record each, in one thread, are all either kept or counted lost, beside the records of the
 * workload's own switches, which it counts itself (on a busy machine it is preempted thousands
 * of times: 1,212 records more than the wakes beside a CPU hog).
 */
static void test_loss_counted_exactly(void **state)
{
	char paths[4][256]; /* test_path's buffers are reused: these are used throughout */
	char *big[] = { LOCKSCOPE, "record", "-o",	paths[0], "--", WORKLOAD("spawn"),
			"--wakes", "200000", "--truth", paths[1], NULL };
	char *tiny[] = { LOCKSCOPE, "record",	       "-b",	  "4K",	    "-o",      paths[2],
			 "--",	    WORKLOAD("spawn"), "--wakes", "200000", "--truth", paths[3],
			 NULL };
	static const char *const names[4] = { "big.data", "big.json", "tiny.data", "tiny.json" };
	struct ls_analysis a, b;
	__u64 kept_big, kept_tiny, more_big, more_tiny;

	for (int i = 0; i < 4; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s", test_path(names[i]));
	SKIP_WITHOUT_BPF();
	assert_int_equal(run(big, test_path("big.out"), NULL), 0);
	more_big = records_besides_wakes(paths[1]);
	assert_int_equal(run(tiny, test_path("tiny.out"), NULL), 0);
	more_tiny = records_besides_wakes(paths[3]);
	assert_int_equal(load_trace(test_path("big.data"), &a), 0);
	assert_int_equal(load_trace(test_path("tiny.data"), &b), 0);
	/* the kernel's records: all but what user space wrote (command line, tasks, maps, lost) */
	kept_big = a.nr_kernel_records;
	kept_tiny = b.nr_kernel_records;
	print_message(
		"  large buffer: %llu kept, %llu lost (at most 200000 + %llu); 4K buffer: %llu "
		"kept + %llu lost = %llu (at most 200000 + %llu)\n",
		(unsigned long long)kept_big, (unsigned long long)a.nr_lost,
		(unsigned long long)more_big, (unsigned long long)kept_tiny,
		(unsigned long long)b.nr_lost, (unsigned long long)(kept_tiny + b.nr_lost),
		(unsigned long long)more_tiny);
	assert_int_equal(a.nr_lost, 0);
	assert_true(b.nr_lost > 1000);
	/* every one of the 200,000 wakes is kept or counted lost, and nothing is counted twice */
	assert_true(kept_big >= 200000 && kept_big <= 200000 + more_big);
	assert_true(kept_tiny + b.nr_lost >= 200000 && kept_tiny + b.nr_lost <= 200000 + more_tiny);
	assert_non_null(strstr(slurp(test_path("tiny.out")), "lost records (raise -b)"));
	ls_analysis_free(&a);
	ls_analysis_free(&b);
}

/*
 * make soak, for 20 s: at 150,000 futex wakes a second the recorder's RSS stays flat after a
 * 5 s warm-up, the file's size is what its first 4 s' bytes per record predict for the records
 * it holds, and no record is lost.
 */
static void test_soak_short(void **state)
{
	char *argv[] = {
		"/usr/bin/python3",
		LS_SOURCE_DIR "/tests/bench/soak.py",
		"--build",
		LS_BUILD_DIR,
		"--seconds",
		"20",
		"--rate", /* make soak's default is 1M/s: the run would stretch on a busy machine */
		"150000",
		"--dir",
		(char *)test_path("soak"),
		NULL
	};
	const char *out;
	int rc;

	SKIP_WITHOUT_BPF();
	if (access(argv[0], X_OK)) {
		print_message("SKIP: no %s\n", argv[0]);
		skip();
	}
	rc = run(argv, test_path("soak.out"), NULL);
	out = slurp(test_path("soak.out"));
	print_message("%s", strstr(out, "RSS:") ? strstr(out, "RSS:") : out);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "soak: passed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workload_killed),
		cmocka_unit_test(test_recorder_killed),
		cmocka_unit_test(test_second_sigint_kills),
		cmocka_unit_test(test_sigterm_then_sigint_kills),
		cmocka_unit_test(test_pid_exits_during_attach),
		cmocka_unit_test(test_trace_itself),
		cmocka_unit_test_teardown(test_disk_full, unmount_small),
		cmocka_unit_test_teardown(test_disk_full_from_start, unmount_small),
		cmocka_unit_test(test_maps_unreadable),
		cmocka_unit_test(test_loss_counted_exactly),
		cmocka_unit_test(test_many_tasks),
		cmocka_unit_test(test_stacks_many_processes),
		cmocka_unit_test(test_soak_short),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("faults (root + BPF)", tests, test_dir_setup,
					   test_dir_teardown);
}
