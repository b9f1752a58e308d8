// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope record: load and attach the probes, put the workload in the traced set, copy the ring
 * buffer into the trace file until the workload is gone, -d elapses or a signal arrives.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lockscope.h" /* the skeleton names its structs */
#include "lockscope.skel.h"
#include "launch.h"
#include "mapwatch.h"
#include "otherload.h"
#include "python.h"
#include "record.h"
#include "target.h"
#include "tasks.h"
#include "trace.h"
#include "unwind.h"
#include "version.h"

static volatile sig_atomic_t stop_signal;

struct recorder {
	const struct record_opts *o;
	struct lockscope_bpf *skel;
	struct ring_buffer *rb;
	struct ls_writer w;
	struct ls_tasks tasks;
	struct ls_mapwatch maps;
	struct ls_otherload other;
	struct ls_python py;
	struct ls_unwind unwind;
	struct ls_user user;
	struct ls_launch child;
	FILE *out;
	char old_path[4096];
	bool renamed_old;
	__u64 usable_bytes; /* header and command line: a file cut short after them is kept */
	int pidfd;
	int drain_ms; /* the ring buffer is emptied this often */
	__u64 start_ns;
};

static void on_stop_signal(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	stop_signal = sig;
	/* the next SIGINT or SIGTERM, whichever, kills at once (the first stops cleanly) */
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGTERM, &dfl, NULL);
}

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Under sudo, what the user could not do is what failed: say whose rights were used. */
static const char *as_user(const struct recorder *r)
{
	static char buf[96];

	if (!r->user.drop)
		return "";
	snprintf(buf, sizeof(buf), " (as uid %u, who ran sudo: give -o a path that user can write)",
		 (unsigned int)r->user.uid);
	return buf;
}

/*
 * Open the output as perf does: an existing file becomes FILE.old. Under sudo everything is done
 * with the invoking user's file rights, so lockscope creates and renames only what they could
 * (root's rights would let any user replace /etc/ld.so.preload and own the result).
 */
static int open_output(struct recorder *r)
{
	const char *path = r->o->output;
	struct ls_user_fs fs;
	struct stat st;
	int fd, err;

	if (snprintf(r->old_path, sizeof(r->old_path), "%s.old", path) >= (int)sizeof(r->old_path))
		return ls_error(-ENAMETOOLONG, "output path too long: %s", path);
	err = ls_user_fs_enter(&r->user, &fs);
	if (err)
		return ls_error(err, "cannot take uid %u's file rights: %s", (unsigned int)r->user.uid,
			     strerror(-err));
	if (!lstat(path, &st)) {
		if (!S_ISREG(st.st_mode)) {
			err = ls_error(-EEXIST,
				    "%s exists and is not a regular file: not replacing it", path);
			goto cleanup;
		}
		if (rename(path, r->old_path)) {
			err = -errno;
			ls_error(err, "cannot rename %s to %s: %s%s", path, r->old_path,
			      strerror(-err), as_user(r));
			goto cleanup;
		}
		r->renamed_old = true;
	} else if (errno != ENOENT) {
		err = -errno;
		goto fail;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	r->out = fdopen(fd, "w");
	if (!r->out) {
		err = -errno;
		close(fd);
		unlink(path);
		goto fail;
	}
	setvbuf(r->out, NULL, _IOFBF, 1 << 20);
	goto cleanup;
fail:
	if (r->renamed_old)
		rename(r->old_path, path);
	r->renamed_old = false;
	ls_error(err, "cannot create %s: %s%s", path, strerror(-err), as_user(r));
cleanup:
	ls_user_fs_leave(&fs);
	return err;
}

/* Remove the output, as the user who made it (open_output), the old one put back if asked. */
static void remove_output(struct recorder *r, bool restore_old)
{
	struct ls_user_fs fs;

	if (ls_user_fs_enter(&r->user, &fs))
		return; /* left in place rather than removed with root's rights */
	unlink(r->o->output);
	if (restore_old && r->renamed_old)
		rename(r->old_path, r->o->output);
	ls_user_fs_leave(&fs);
}

/* A recording that failed before it began leaves no file behind, and the old one in place. */
static void discard_output(struct recorder *r)
{
	if (!r->out)
		return;
	fclose(r->out);
	r->out = NULL;
	remove_output(r, true);
}

/*
 * Writing failed once recording had begun (a full disk): the file holds the trace up to the
 * failure, and report reads it up to its last whole record. Kept when the header and command
 * line reached the disk, as README promises; else nothing usable was written, and it goes as
 * discard_output() does. True when kept.
 */
static bool keep_cut_output(struct recorder *r)
{
	struct stat st;
	bool keep;

	/* what stdio still holds comes after the failure: written now, it would follow a gap */
	__fpurge(r->out);
	keep = !fstat(fileno(r->out), &st) && (__u64)st.st_size >= r->usable_bytes;
	if (!keep) {
		discard_output(r);
		return false;
	}
	fclose(r->out);
	r->out = NULL;
	return true;
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct ls_rec_hdr *h = data;
	struct recorder *r = ctx;

	if (size < sizeof(*h) || h->size > size)
		return 0;
	if (h->type == LS_REC_STACK_SAMPLE) /* replaced by the stack it unwinds to */
		return ls_unwind_sample(&r->unwind, &r->w, data, h->size);
	if (h->type == LS_REC_PY_SAMPLE) /* replaced by the functions and stack it resolves to */
		return ls_pystacks_sample(&r->py.stacks, &r->w, data, h->size);
	if (ls_unwind_before_record(&r->unwind, &r->w, h))
		return r->w.err ? r->w.err : -ENOMEM;
	if (ls_writer_put(&r->w, data, h->size))
		return r->w.err;
	if (ls_tasks_update(&r->tasks, h))
		return -ENOMEM;
	/* switches and wakeups, most of the records, concern neither watch: no clock read */
	if (h->type != LS_REC_SWITCH && h->type != LS_REC_WAKEUP) {
		__u64 now = now_ns(CLOCK_MONOTONIC);

		if (ls_mapwatch_record(&r->maps, &r->w, &r->tasks, h, now) ||
		    ls_python_record(&r->py, &r->w, &r->tasks, h, now))
			return r->w.err ? r->w.err : -ENOMEM;
	}
	if (h->type == LS_REC_EXEC)
		ls_unwind_forget(&r->unwind, ((const struct ls_exec *)data)->tgid);
	if (h->type == LS_REC_EXIT) {
		const struct ls_exit *e = data;

		ls_unwind_exit(&r->unwind, e);
		/* after the process's final switch: stop tracing its tgid, which may be reused */
		if (e->flags & LS_EXIT_GROUP_DEAD)
			ls_untrace_tgid(r->skel, e->tgid);
	}
	return 0;
}

static int write_record(struct recorder *r, const void *rec)
{
	const struct ls_rec_hdr *h = rec;
	int err = ls_writer_put(&r->w, rec, h->size);

	if (!err)
		err = ls_tasks_update(&r->tasks, h);
	return err;
}

static void read_comm(char *comm, const char *path)
{
	FILE *f = fopen(path, "re");

	memset(comm, 0, LS_COMM_LEN);
	if (!f)
		return;
	if (fgets(comm, LS_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/* Where a thread found at attach time stands: on a run queue, in a futex call, or neither. */
static __u32 thread_state_flags(const char *task_dir, int tid)
{
	struct ls_proc_stat st;
	char path[320];
	__u32 flags = 0;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/stat", task_dir, tid);
	if (!ls_read_proc_stat(path, &st) && st.state == 'R')
		flags |= LS_TASK_RUNNABLE;
	snprintf(path, sizeof(path), "%s/%d/syscall", task_dir, tid);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &nr) == 1 && nr == SYS_futex)
			flags |= LS_TASK_IN_FUTEX;
		fclose(f);
	}
	return flags;
}

/* The threads of an attached process, written as tasks alive at the start. */
static int write_existing_threads(struct recorder *r, pid_t pid)
{
	struct ls_task t = { .hdr = { LS_REC_TASK, sizeof(t), 0 } };
	char path[64], comm_path[320];
	struct ls_proc_stat st;
	struct dirent *de;
	int err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	t.tgid = pid;
	snprintf(comm_path, sizeof(comm_path), "/proc/%d/stat", pid);
	t.ppid = ls_read_proc_stat(comm_path, &st) ? 0 : st.ppid;
	t.ts_start = r->start_ns;
	while (!err && (de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0)
			continue;
		snprintf(comm_path, sizeof(comm_path), "%s/%d/comm", path, tid);
		read_comm(t.comm, comm_path);
		t.hdr.tid = tid;
		t.flags = LS_TASK_AT_START | thread_state_flags(path, tid);
		err = write_record(r, &t);
	}
	closedir(d);
	return err;
}

/*
 * The attached process's threads as the window opens. A process that exited before then, even
 * as a zombie, left nothing to record: an error and no file, rather than an empty trace.
 */
static int write_attached(struct recorder *r)
{
	pid_t pid = r->o->pid;
	int err = write_existing_threads(r, pid);

	if (err == -ESRCH || (!err && ls_pid_exited(r->pidfd)))
		return ls_error(-ESRCH,
			     "PID %d exited while lockscope was attaching: nothing recorded", pid);
	if (err)
		return ls_error(err, "cannot record PID %d: %s", pid, strerror(-err));
	return 0;
}

static __u64 round_pow2(__u64 v)
{
	__u64 p = sysconf(_SC_PAGESIZE);

	while (p < v)
		p <<= 1;
	return p;
}

/*
 * How often to drain a buffer of this size: a quarter of the time it takes to fill at 1 million
 * 48-byte records a second, between 1 and 50 ms (16 MB: 50 ms, holding 350 ms of such a rate).
 */
static int drain_period_ms(__u64 bytes)
{
	__u64 ms = bytes * 1000 / (48ULL * 1000000) / 4;

	return ms < 1 ? 1 : ms > 50 ? 50 : (int)ms;
}

static int load_probes(struct recorder *r)
{
	int err;

	r->skel = lockscope_bpf__open();
	if (!r->skel)
		return ls_error(-errno, "cannot open the BPF object: %s", strerror(errno));
	err = bpf_map__set_max_entries(r->skel->maps.events, round_pow2(r->o->buffer_size));
	if (!err && r->o->stack_mode != LS_STACKS_OFF)
		err = bpf_map__set_max_entries(r->skel->maps.stack_events,
					       round_pow2(r->o->buffer_size));
	/* a Python stack is at most 1 KB, and most are a few frames: a quarter of -b */
	if (!err && r->o->py_stacks)
		err = bpf_map__set_max_entries(r->skel->maps.py_events,
					       round_pow2(r->o->buffer_size / 4));
	/* lockscope top's maps and iterator: not used here */
	if (!err)
		err = bpf_map__set_max_entries(r->skel->maps.top_exited, 1) ?:
		      bpf_map__set_max_entries(r->skel->maps.top_locks, 1) ?:
		      bpf_map__set_max_entries(r->skel->maps.top_gil, 1) ?:
		      bpf_program__set_autoload(r->skel->progs.dump_threads, false);
	if (err)
		return ls_error(err, "bad ring buffer size: %s", strerror(-err));
	r->skel->rodata->stacks = r->o->stack_mode != LS_STACKS_OFF;
	r->skel->rodata->py_stacks = r->o->py_stacks;
	r->skel->rodata->py_sample_every = LS_GIL_SAMPLE_HZ / LS_PY_SAMPLE_HZ;
	if (r->o->stack_mode == LS_STACKS_DWARF)
		r->skel->rodata->stack_dump = r->o->stack_dump;
	err = lockscope_bpf__load(r->skel);
	if (err)
		return ls_error(err, "cannot load the BPF programs: %s (run with -v for libbpf's log)",
			     strerror(-err));
	if (r->o->pid) {
		err = ls_trace_tgid(r->skel, r->o->pid);
		if (err)
			return ls_error(err, "cannot update the traced set: %s", strerror(-err));
	}
	err = lockscope_bpf__attach(r->skel);
	if (err)
		return ls_error(err, "cannot attach the BPF programs: %s (run with -v for details)",
			     strerror(-err));
	r->drain_ms = drain_period_ms(round_pow2(r->o->buffer_size));
	/* samples are unwound from the live process's files: read them before it can exit */
	if (r->o->stack_mode != LS_STACKS_OFF && r->drain_ms > 10)
		r->drain_ms = 10;
	/*
	 * Stack samples first: a drain reads that ring before the records, so that a wait's sample
	 * (taken as it blocks) is at hand when the wait's record (written as it returns) is read.
	 */
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.stack_events), on_record, r, NULL);
	if (!r->rb)
		return ls_error(-errno, "cannot open the ring buffer: %s", strerror(errno));
	err = ring_buffer__add(r->rb, bpf_map__fd(r->skel->maps.py_events), on_record, r);
	if (!err)
		err = ring_buffer__add(r->rb, bpf_map__fd(r->skel->maps.events), on_record, r);
	if (err)
		return ls_error(err, "cannot open the ring buffer: %s", strerror(-err));
	/* libbpf reads it from a file once: now, lest the trailer need a descriptor none is left for */
	libbpf_num_possible_cpus();
	return 0;
}

static int write_header(struct recorder *r)
{
	struct ls_file_header h = {
		.version = LS_TRACE_VERSION,
		.header_size = sizeof(h),
		.byte_order = LS_BYTE_ORDER,
		.nr_cpus = sysconf(_SC_NPROCESSORS_ONLN),
		.page_size = sysconf(_SC_PAGESIZE),
		.clock_id = CLOCK_MONOTONIC,
		.start_mono_ns = r->start_ns,
		.start_real_ns = now_ns(CLOCK_REALTIME) - (now_ns(CLOCK_MONOTONIC) - r->start_ns),
		.mode = r->o->pid ? LS_MODE_PID : LS_MODE_LAUNCH,
		.target_pid = r->o->pid ? r->o->pid : r->child.pid,
	};
	struct utsname u;

	memcpy(h.magic, LS_TRACE_MAGIC, sizeof(h.magic));
	if (!uname(&u))
		snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	snprintf(h.tool_version, sizeof(h.tool_version), "%s", LOCKSCOPE_VERSION);
	if (ls_writer_init(&r->w, r->out, &h))
		return r->w.err;
	if (r->o->pid) {
		char path[64], buf[LS_CMDLINE_MAX], *argv[1] = { buf };
		FILE *f;
		size_t n = 0;

		snprintf(path, sizeof(path), "/proc/%d/cmdline", r->o->pid);
		f = fopen(path, "re");
		if (f) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		for (size_t i = 0; i + 1 < n; i++)
			buf[i] = buf[i] ? buf[i] : ' ';
		buf[n] = '\0';
		return ls_writer_cmdline(&r->w, 1, argv);
	}
	return ls_writer_cmdline(&r->w, r->o->argc, r->o->argv);
}

/* Start the held child: put it in the traced set first, so that exec is its first traced step. */
static int start_child(struct recorder *r)
{
	struct ls_task t = { .hdr = { LS_REC_TASK, sizeof(t), r->child.pid } };
	const char *stage;
	int err;

	t.ts_start = now_ns(CLOCK_MONOTONIC);
	t.tgid = r->child.pid;
	t.ppid = getpid();
	snprintf(t.comm, sizeof(t.comm), "%s", "lockscope");
	err = ls_trace_tgid(r->skel, r->child.pid);
	if (err)
		return ls_error(err, "cannot update the traced set: %s", strerror(-err));
	err = write_record(r, &t);
	if (err)
		return ls_error(err, "cannot write %s: %s", r->o->output, strerror(-err));
	err = ls_launch_start(&r->child, &stage);
	if (err) {
		ls_launch_stop(&r->child, LS_LAUNCH_GRACE_MS); /* exits by itself: exec failed */
		return ls_error(err, "cannot run %s: %s failed: %s", r->o->argv[0], stage,
			     strerror(-err));
	}
	return 0;
}

static bool target_gone(struct recorder *r)
{
	if (r->o->pid)
		return ls_pid_exited(r->pidfd);
	return ls_launch_done(&r->child);
}

static enum ls_stop_reason record_loop(struct recorder *r)
{
	__u64 deadline = r->o->duration > 0 ? r->start_ns + r->o->duration * 1e9 : 0;
	int err;

	for (;;) {
		/*
		 * Records never wake us: drain on a timer. Not faster for Python stacks, though a
		 * process's last ones come too late to resolve: every 10 ms cost GIL-bound threads
		 * 10% of their work (make bench, 6), every 50 ms nothing measurable.
		 */
		err = ring_buffer__poll(r->rb, r->drain_ms);
		if (err >= 0 || err == -EINTR)
			err = ring_buffer__consume(r->rb);
		if (err >= 0 || err == -EINTR)
			ls_otherload_sample(&r->other, &r->w, false, NULL); /* a failure is w.err */
		/* Python stacks' status records, interpreters not initialised yet tried again */
		if ((err >= 0 || err == -EINTR) &&
		    ls_python_flush(&r->py, &r->w, now_ns(CLOCK_MONOTONIC)) && !r->w.err)
			err = -ENOMEM;
		/* what was read reaches the file: a recorder killed now leaves a readable trace */
		if (err >= 0 && ls_writer_flush(&r->w))
			err = r->w.err;
		if (err < 0 && err != -EINTR) {
			/* a failed write is said once, with the file's name, by the caller */
			if (!r->w.err)
				ls_error(err, "reading the ring buffer failed: %s", strerror(-err));
			return LS_STOP_SIGNAL;
		}
		if (stop_signal)
			return LS_STOP_SIGNAL;
		if (target_gone(r))
			return LS_STOP_EXITED;
		if (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)
			return LS_STOP_DURATION;
	}
}

static int write_trailer(struct recorder *r, enum ls_stop_reason reason, __u64 end_ns,
			 __u64 *nr_lost)
{
	int ncpus = libbpf_num_possible_cpus();
	struct ls_end end = {
		.end_mono_ns = end_ns,
		.stop_reason = reason,
		.exit_status = r->child.exited ? r->child.status : -1,
	};
	struct ls_task *t;
	__u64 *lost;
	__u32 zero = 0;
	size_t pos = 0;
	int err;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	lost = calloc(ncpus, sizeof(*lost));
	if (!lost)
		return -ENOMEM;
	err = bpf_map__lookup_elem(r->skel->maps.lost, &zero, sizeof(zero), lost,
				   ncpus * sizeof(*lost), 0);
	for (int i = 0; i < ncpus; i++)
		end.nr_lost += lost[i];
	*nr_lost = end.nr_lost;
	while (!err && (t = ls_tasks_next(&r->tasks, &pos))) {
		struct ls_task row = *t;

		row.flags |= LS_TASK_FINAL;
		err = ls_writer_put(&r->w, &row, sizeof(row));
	}
	if (!err)
		err = ls_writer_lost(&r->w, lost, ncpus);
	if (!err)
		err = ls_writer_finish(&r->w, &end);
	free(lost);
	return err;
}

/* A command still running when recording stops (-d, signal) is asked to stop too. */
static void stop_child(struct recorder *r)
{
	if (!r->o->pid && r->child.pid > 0 && !r->child.exited)
		ls_launch_stop(&r->child, LS_LAUNCH_GRACE_MS);
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESETHAND };

	/* SA_RESETHAND, and the handler resets the other one: the second Ctrl-C kills us */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = ls_launch_on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
}

int record_run(const struct record_opts *o)
{
	struct recorder r = {
		.o = o,
		.pidfd = -1,
		.child = { .pid = -1, .pidfd = -1, .go_fd = -1, .err_fd = -1 },
		.other = { .prog_fd = -1 },
	};
	enum ls_stop_reason reason;
	__u64 end_ns, nr_lost = 0;
	int err;

	ls_libbpf_print_init(o->verbose);
	ls_tasks_init(&r.tasks);
	ls_mapwatch_init(&r.maps);
	ls_unwind_init(&r.unwind);
	err = ls_check_privileges();
	if (err)
		goto cleanup;
	err = ls_check_pid_namespace();
	if (err)
		goto cleanup;
	if (o->pid && (err = ls_check_pid(o->pid, &r.pidfd)))
		goto cleanup;
	err = ls_user_from_env(&r.user);
	if (err) {
		ls_error(err, "SUDO_UID/SUDO_GID are malformed: unset them or run through sudo");
		goto cleanup;
	}
	err = open_output(&r);
	if (err)
		goto cleanup;
	install_signals();
	if (!o->pid) {
		/* orphaned descendants come back to us, so we know when the last one exits */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		err = ls_launch_prepare(&r.child, o->argv, &r.user);
		if (err) {
			ls_error(err, "cannot fork: %s", strerror(-err));
			goto cleanup;
		}
	}
	err = load_probes(&r);
	if (err)
		goto cleanup;
	ls_python_init(&r.py, r.skel, o->gil_mode, o->py_stacks);
	r.skel->bss->untraced_nr_cpus = libbpf_num_possible_cpus();
	ls_otherload_init(&r.other, bpf_program__fd(r.skel->progs.sample_untraced),
			  &r.skel->bss->untraced_sum);
	/* the GIL's probes too are in place before the window opens */
	if (o->pid) {
		err = ls_python_attach(&r.py, o->pid);
		if (err == -ENOENT && o->gil_mode == LS_GIL_PROBES) {
			ls_error(err,
			      "PID %d does not run CPython: --gil=probes has nothing to probe "
			      "(leave --gil out to record it anyway)",
			      o->pid);
			goto cleanup;
		}
		err = 0;
	} else {
		struct ls_user_fs fs;

		/* the command is found and read as the user who will run it, as their exec would */
		if (!ls_user_fs_enter(&r.user, &fs)) {
			ls_python_prepare_launch(&r.py, o->argv[0]);
			ls_user_fs_leave(&fs);
		}
	}
	ls_otherload_visit(r.skel->bss->untraced_cpu, libbpf_num_possible_cpus());
	r.start_ns = now_ns(CLOCK_MONOTONIC);
	/* a CPU that has not switched since the probes were attached ran its task from here */
	r.skel->bss->untraced_origin = r.start_ns;
	err = write_header(&r);
	r.usable_bytes = r.w.bytes;
	if (!err)
		err = ls_python_flush(&r.py, &r.w, r.start_ns);
	if (!err)
		err = ls_otherload_sample(&r.other, &r.w, true, NULL);
	if (err) {
		ls_error(err, "cannot write %s: %s", o->output, strerror(-err));
		goto cleanup;
	}
	if (o->pid && (err = write_attached(&r)))
		goto cleanup;
	if (!o->pid && (err = start_child(&r)))
		goto cleanup;

	reason = record_loop(&r);
	/* the window closes now, at the last sample: detaching takes milliseconds (an RCU grace
	 * period per link) */
	end_ns = now_ns(CLOCK_MONOTONIC);
	ls_otherload_sample(&r.other, &r.w, true, &end_ns); /* a failure is w.err, below */
	ls_untrace_all(r.skel);
	ls_python_stop(&r.py);
	lockscope_bpf__detach(r.skel);
	ls_python_detach(&r.py);
	ring_buffer__consume(r.rb);
	err = r.w.err;
	if (!err)
		err = ls_mapwatch_flush(&r.maps, &r.w, end_ns);
	if (!err)
		err = ls_python_finish(&r.py, &r.w, end_ns);
	if (!err)
		err = write_trailer(&r, reason, end_ns, &nr_lost);
	if (err) {
		stop_child(&r); /* as at -d */
		if (keep_cut_output(&r))
			ls_error(err,
			      "writing %s failed: %s: it is kept up to its last whole record "
			      "(lockscope report reads it as cut short)%s",
			      o->output, strerror(-err),
			      err == -ENOSPC ? "; free some space and record again" : "");
		else
			ls_error(err, "writing %s failed: %s: nothing recorded%s", o->output,
			      strerror(-err),
			      r.renamed_old ? ", the previous file is back in its place" : "");
		goto cleanup;
	}
	err = fclose(r.out) ? -errno : 0;
	r.out = NULL;
	if (err) {
		ls_error(err, "closing %s failed: %s: it may be cut short", o->output, strerror(-err));
		goto cleanup;
	}
	fprintf(stderr,
		"lockscope: recorded %.3f s, %llu records, %.1f MB, %llu lost records%s -> %s\n",
		(end_ns - r.start_ns) / 1e9, (unsigned long long)r.w.nr_records, r.w.bytes / 1e6,
		(unsigned long long)nr_lost, nr_lost ? " (raise -b)" : "", o->output);
	if (r.maps.nr_failed)
		fprintf(stderr,
			"lockscope: %llu memory map snapshots could not be read (the first: PID "
			"%u, "
			"%s): locks there may be unnamed\n",
			(unsigned long long)r.maps.nr_failed, r.maps.failed_tgid,
			strerror(r.maps.failed_err));
	if (o->stack_mode != LS_STACKS_OFF)
		fprintf(stderr,
			"lockscope: %llu stacks of blocking waits: %llu by CFI, %llu by frame "
			"pointers, %llu not unwound, %llu lost%s; %u distinct\n",
			(unsigned long long)r.unwind.samples, (unsigned long long)r.unwind.dwarf,
			(unsigned long long)r.unwind.fp, (unsigned long long)r.unwind.failed,
			(unsigned long long)r.skel->bss->stack_lost,
			r.skel->bss->stack_lost ? " (raise -b or lower --stack-size)" : "",
			r.unwind.next_id);
	if (r.py.stacks.stacks || r.skel->bss->py_lost)
		fprintf(stderr,
			"lockscope: %llu Python stacks, %llu of their %llu frames unresolved, "
			"%zu functions (%llu dropped), %llu lost%s, %llu waits over the budget "
			"not read\n",
			(unsigned long long)r.py.stacks.stacks,
			(unsigned long long)r.py.stacks.unresolved,
			(unsigned long long)r.py.stacks.frames, r.py.stacks.funcs.nr,
			(unsigned long long)r.py.stacks.funcs_dropped,
			(unsigned long long)r.skel->bss->py_lost,
			r.skel->bss->py_lost ? " (raise -b)" : "",
			(unsigned long long)r.skel->bss->py_over_budget);
	stop_child(&r);
	err = 0;
cleanup:
	if (err)
		discard_output(&r);
	ls_launch_abort(&r.child); /* a command still running when lockscope failed */
	ring_buffer__free(r.rb);
	lockscope_bpf__destroy(r.skel);
	ls_tasks_free(&r.tasks);
	ls_mapwatch_free(&r.maps);
	ls_python_free(&r.py);
	ls_unwind_free(&r.unwind);
	if (r.pidfd >= 0)
		close(r.pidfd);
	return err ? 1 : o->pid ? 0 : ls_launch_exit_status(&r.child);
}
