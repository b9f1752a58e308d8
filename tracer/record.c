// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope record: load and attach the probes, put the workload in the traced set, copy the ring
 * buffer into the trace file until the workload is gone, -d elapses or a signal arrives.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lockscope.h" /* the skeleton names its structs */
#include "lockscope.skel.h"
#include "launch.h"
#include "mapwatch.h"
#include "otherload.h"
#include "python.h"
#include "record.h"
#include "tasks.h"
#include "trace.h"
#include "unwind.h"
#include "version.h"

#define PF_KTHREAD     0x00200000
/* The initial PID namespace's fixed inode (PROC_PID_INIT_INO, include/linux/proc_ns.h) */
#define LS_INIT_PID_NS "pid:[4026531836]"

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t children_changed;
static bool verbose;

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
	bool child_exited;
	int child_status;
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

static void on_sigchld(int sig)
{
	(void)sig;
	children_changed = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int error(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lockscope record: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return err ? err : -EINVAL;
}

/* LOCKSCOPE_BTF names another file, so that tests can play a kernel without BTF. */
static const char *btf_path(void)
{
	const char *p = getenv("LOCKSCOPE_BTF");

	return p && *p ? p : "/sys/kernel/btf/vmlinux";
}

/* Whether our effective set holds cap. */
static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Root, or CAP_BPF and CAP_PERFMON (and CAP_SETUID/SETGID to run a command as the user). */
static int check_privileges(void)
{
	if (!have_cap(CAP_BPF) || !have_cap(CAP_PERFMON))
		return error(-EPERM, "needs root, or CAP_BPF and CAP_PERFMON: run it with sudo");
	if (access(btf_path(), R_OK))
		return error(-ENOTSUP,
			     "this kernel has no BTF (%s): lockscope needs Linux >= 5.18 "
			     "built with CONFIG_DEBUG_INFO_BTF=y",
			     btf_path());
	return 0;
}

/*
 * The probes name processes as the kernel does, by their pid in the initial PID namespace
 * (task->tgid); getpid, fork, -p and /proc give lockscope its own namespace's. In a namespace of
 * its own (a container, unshare -p) they differ and it would trace whatever process has its
 * child's number on the host. NSpid cannot map them back where /proc is the container's (its
 * first field is the pid in /proc's namespace, not the host's): refuse rather than guess.
 */
static int check_pid_namespace(void)
{
	char ns[64];
	ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);

	if (n < 0)
		return error(-errno, "cannot read /proc/self/ns/pid: %s (is /proc mounted?)",
			     strerror(errno));
	ns[n] = '\0';
	if (strcmp(ns, LS_INIT_PID_NS))
		return error(
			-ENOTSUP,
			"lockscope runs in a PID namespace of its own (%s; a container, unshare "
			"-p): the kernel's probes see the host's PIDs, which it cannot map "
			"back. Run it in the host's PID namespace: it traces processes in "
			"containers there, by their host PID or launched",
			ns);
	return 0;
}

/* Whether every uid of pid (real, effective, saved, filesystem) is uid, as ptrace asks. */
static bool owned_by(pid_t pid, uid_t uid)
{
	unsigned int ids[4];
	char path[64], line[256];
	bool same = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) == 4) {
			same = ids[0] == uid && ids[1] == uid && ids[2] == uid && ids[3] == uid;
			break;
		}
	}
	fclose(f);
	return same;
}

struct proc_stat {
	char state;
	int ppid;
	unsigned long flags;
};

/* The fields of a /proc/.../stat file that lockscope uses. 0, -ENOENT, or -EINVAL. */
static int read_proc_stat(const char *path, struct proc_stat *st)
{
	char buf[1024], *p;
	FILE *f = fopen(path, "re");

	if (!f)
		return -ENOENT;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* after "pid (comm)", whose comm may hold spaces and parentheses: state ppid pgrp session
	 * tty_nr tpgid flags */
	p = p ? strrchr(buf, ')') : NULL;
	if (!p ||
	    sscanf(p + 2, "%c %d %*d %*d %*d %*d %lu", &st->state, &st->ppid, &st->flags) != 3)
		return -EINVAL;
	return 0;
}

/* A pidfd turns readable once its process has exited, zombie or reaped. */
static bool pid_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return pidfd >= 0 && poll(&p, 1, 0) == 1;
}

/*
 * A user process we may trace: not us, not a kernel thread, alive. The pidfd is taken first and
 * the process confirmed alive through it after the checks: what /proc/PID said was then about
 * the process the pidfd holds, not one that took the pid after it exited.
 */
static int check_pid(pid_t pid, int *pidfd)
{
	struct proc_stat st;
	char path[64];
	int err;

	if (pid <= 0)
		return error(-EINVAL, "invalid PID %d", pid);
	if (pid == getpid())
		return error(-EINVAL, "PID %d is lockscope itself", pid);
	*pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (*pidfd < 0) {
		err = -errno;
		if (err == -ESRCH)
			return error(err, "no process with PID %d", pid);
		if (err == -EINVAL)
			return error(err,
				     "PID %d is a thread, not a process: give its Tgid (in "
				     "/proc/%d/status)",
				     pid, pid);
		return error(err, "cannot watch PID %d: %s", pid, strerror(-err));
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	err = read_proc_stat(path, &st);
	/* a process reaped as we read reads as nothing: the pidfd says which it was */
	if (err && pid_exited(*pidfd))
		return error(-ESRCH, "PID %d has exited: nothing to record", pid);
	if (err == -ENOENT)
		return error(-ESRCH, "no process with PID %d", pid);
	if (err)
		return error(-ESRCH, "cannot read %s", path);
	if (st.flags & PF_KTHREAD)
		return error(-EINVAL, "PID %d is a kernel thread: lockscope traces user processes",
			     pid);
	/*
	 * The probes see every process. With CAP_BPF and CAP_PERFMON alone (file capabilities),
	 * a user could trace anybody's: only what that user could ptrace, as perf record -p.
	 */
	if (!have_cap(CAP_SYS_PTRACE) && !owned_by(pid, getuid()))
		return error(
			-EPERM,
			"PID %d is not yours (uid %d): tracing it needs root or CAP_SYS_PTRACE",
			pid, (int)getuid());
	if (pid_exited(*pidfd))
		return error(-ESRCH, "PID %d has exited: nothing to record", pid);
	return 0;
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
		return error(-ENAMETOOLONG, "output path too long: %s", path);
	err = ls_user_fs_enter(&r->user, &fs);
	if (err)
		return error(err, "cannot take uid %u's file rights: %s", (unsigned int)r->user.uid,
			     strerror(-err));
	if (!lstat(path, &st)) {
		if (!S_ISREG(st.st_mode)) {
			err = error(-EEXIST,
				    "%s exists and is not a regular file: not replacing it", path);
			goto cleanup;
		}
		if (rename(path, r->old_path)) {
			err = -errno;
			error(err, "cannot rename %s to %s: %s%s", path, r->old_path,
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
	error(err, "cannot create %s: %s%s", path, strerror(-err), as_user(r));
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

/* The traced set is a bitmap in the programs' .bss, mapped here (bpf/lockscope.bpf.c). */
static int trace_tgid(struct recorder *r, __u32 tgid)
{
	if (tgid >= LS_TGID_MAX)
		return -ERANGE;
	__atomic_fetch_or(&r->skel->bss->traced[tgid / 64], 1ULL << (tgid % 64), __ATOMIC_RELAXED);
	return 0;
}

static void untrace_tgid(struct recorder *r, __u32 tgid)
{
	if (tgid < LS_TGID_MAX)
		__atomic_fetch_and(&r->skel->bss->traced[tgid / 64], ~(1ULL << (tgid % 64)),
				   __ATOMIC_RELAXED);
}

/*
 * Empty the traced set as the window closes: the probes, still attached while they detach (a
 * few hundred ms for uprobes on a busy machine), record nothing after the window's end.
 */
static void untrace_all(struct recorder *r)
{
	for (size_t i = 0; i < LS_TGID_MAX / 64; i++)
		if (r->skel->bss->traced[i])
			__atomic_store_n(&r->skel->bss->traced[i], 0, __ATOMIC_RELAXED);
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
			untrace_tgid(r, e->tgid);
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
	struct proc_stat st;
	char path[320];
	__u32 flags = 0;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/stat", task_dir, tid);
	if (!read_proc_stat(path, &st) && st.state == 'R')
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
	struct proc_stat st;
	struct dirent *de;
	int err = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	t.tgid = pid;
	snprintf(comm_path, sizeof(comm_path), "/proc/%d/stat", pid);
	t.ppid = read_proc_stat(comm_path, &st) ? 0 : st.ppid;
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

	if (err == -ESRCH || (!err && pid_exited(r->pidfd)))
		return error(-ESRCH,
			     "PID %d exited while lockscope was attaching: nothing recorded", pid);
	if (err)
		return error(err, "cannot record PID %d: %s", pid, strerror(-err));
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
		return error(-errno, "cannot open the BPF object: %s", strerror(errno));
	err = bpf_map__set_max_entries(r->skel->maps.events, round_pow2(r->o->buffer_size));
	if (!err && r->o->stack_mode != LS_STACKS_OFF)
		err = bpf_map__set_max_entries(r->skel->maps.stack_events,
					       round_pow2(r->o->buffer_size));
	/* a Python stack is at most 1 KB, and most are a few frames: a quarter of -b */
	if (!err && r->o->py_stacks)
		err = bpf_map__set_max_entries(r->skel->maps.py_events,
					       round_pow2(r->o->buffer_size / 4));
	if (err)
		return error(err, "bad ring buffer size: %s", strerror(-err));
	r->skel->rodata->stacks = r->o->stack_mode != LS_STACKS_OFF;
	r->skel->rodata->py_stacks = r->o->py_stacks;
	r->skel->rodata->py_sample_every = LS_GIL_SAMPLE_HZ / LS_PY_SAMPLE_HZ;
	if (r->o->stack_mode == LS_STACKS_DWARF)
		r->skel->rodata->stack_dump = r->o->stack_dump;
	err = lockscope_bpf__load(r->skel);
	if (err)
		return error(err, "cannot load the BPF programs: %s (run with -v for libbpf's log)",
			     strerror(-err));
	if (r->o->pid) {
		err = trace_tgid(r, r->o->pid);
		if (err)
			return error(err, "cannot update the traced set: %s", strerror(-err));
	}
	err = lockscope_bpf__attach(r->skel);
	if (err)
		return error(err, "cannot attach the BPF programs: %s (run with -v for details)",
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
		return error(-errno, "cannot open the ring buffer: %s", strerror(errno));
	err = ring_buffer__add(r->rb, bpf_map__fd(r->skel->maps.py_events), on_record, r);
	if (!err)
		err = ring_buffer__add(r->rb, bpf_map__fd(r->skel->maps.events), on_record, r);
	if (err)
		return error(err, "cannot open the ring buffer: %s", strerror(-err));
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
	err = trace_tgid(r, r->child.pid);
	if (err)
		return error(err, "cannot update the traced set: %s", strerror(-err));
	err = write_record(r, &t);
	if (err)
		return error(err, "cannot write %s: %s", r->o->output, strerror(-err));
	err = ls_launch_start(&r->child, &stage);
	if (err) {
		ls_launch_stop(&r->child, LS_LAUNCH_GRACE_MS); /* exits by itself: exec failed */
		return error(err, "cannot run %s: %s failed: %s", r->o->argv[0], stage,
			     strerror(-err));
	}
	return 0;
}

/* Reap what exited; true once the command and every descendant are gone. */
static bool reap_children(struct recorder *r)
{
	int status;
	pid_t pid;

	children_changed = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == r->child.pid) {
			ls_launch_reaped(&r->child); /* its pid is free for others to take */
			r->child_exited = true;
			r->child_status = status;
		}
	}
	return pid < 0 && errno == ECHILD;
}

static bool target_gone(struct recorder *r)
{
	if (r->o->pid)
		return pid_exited(r->pidfd);
	return children_changed && reap_children(r);
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
				error(err, "reading the ring buffer failed: %s", strerror(-err));
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
		.exit_status = r->child_exited ? r->child_status : -1,
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
	int status;

	if (r->o->pid || r->child.pid <= 0 || r->child_exited)
		return;
	status = ls_launch_stop(&r->child, LS_LAUNCH_GRACE_MS);
	if (status != -1) {
		r->child_exited = true;
		r->child_status = status;
	}
}

static int exit_status(const struct recorder *r)
{
	if (r->o->pid || !r->child_exited)
		return 0;
	if (WIFEXITED(r->child_status))
		return WEXITSTATUS(r->child_status);
	return 128 + WTERMSIG(r->child_status);
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESETHAND };

	/* SA_RESETHAND, and the handler resets the other one: the second Ctrl-C kills us */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sigchld;
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

	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	ls_tasks_init(&r.tasks);
	ls_mapwatch_init(&r.maps);
	ls_unwind_init(&r.unwind);
	err = check_privileges();
	if (err)
		goto cleanup;
	err = check_pid_namespace();
	if (err)
		goto cleanup;
	if (o->pid && (err = check_pid(o->pid, &r.pidfd)))
		goto cleanup;
	err = ls_user_from_env(&r.user);
	if (err) {
		error(err, "SUDO_UID/SUDO_GID are malformed: unset them or run through sudo");
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
			error(err, "cannot fork: %s", strerror(-err));
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
			error(err,
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
		error(err, "cannot write %s: %s", o->output, strerror(-err));
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
	untrace_all(&r);
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
			error(err,
			      "writing %s failed: %s: it is kept up to its last whole record "
			      "(lockscope report reads it as cut short)%s",
			      o->output, strerror(-err),
			      err == -ENOSPC ? "; free some space and record again" : "");
		else
			error(err, "writing %s failed: %s: nothing recorded%s", o->output,
			      strerror(-err),
			      r.renamed_old ? ", the previous file is back in its place" : "");
		goto cleanup;
	}
	err = fclose(r.out) ? -errno : 0;
	r.out = NULL;
	if (err) {
		error(err, "closing %s failed: %s: it may be cut short", o->output, strerror(-err));
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
	return err ? 1 : exit_status(&r);
}
