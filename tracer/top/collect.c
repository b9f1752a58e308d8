// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope top's collector (collect.h): load the programs with their aggregate knob set, follow
 * the target, and read the top_* maps each interval. The maps hold running sums; an interval's
 * figures are the differences between two readings, so that no count made between a read and a
 * reset is lost. A state still going on (a thread blocked for an hour) is counted up to the
 * reading from its start time. Entries of exited threads are deleted once read, locks unused for
 * LS_TOP_LOCK_IDLE intervals and the GILs of exited processes likewise: the maps stay bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lockscope.h"
#include "lockscope.skel.h"
#include "collect.h"
#include "escape.h"
#include "htab.h"
#include "launch.h"
#include "otherload.h"
#include "pyfind.h"
#include "python.h"
#include "target.h"
#include "trace.h"

#define PY_TRIES      30	 /* polls (100 ms apart) after an exec to find an interpreter */
#define EVENTS_BYTES  (1u << 20) /* lifecycle records: a few per thread created */
#define PY_RING_BYTES (1u << 20) /* Python stacks: 100 a second per CPU */

volatile int ls_top_stop_signal;

/* The last reading of a thread, a lock, a GIL: the next one is differenced against it */
struct snap_thread {
	__u32 tid;
	__u64 created; /* the thread's: another one with its tid is not it */
	__u64 total[LS_TOP_NR_STATES];
	__u64 nvcsw, nivcsw, turns;
};

struct snap_lock {
	struct ls_top_lock_key key;
	struct ls_top_lock sum;
	__u64 timed; /* sum's timed waits: its histogram's count */
	__u32 idle;  /* readings in a row that found it unchanged */
};

struct snap_gil {
	__u32 tgid;
	__u64 running_ns, idle_held_ns, weight, held, forced;
	__u64 switch_number;
	bool sn_known;
};

/* A traced process, as far as Python goes */
struct top_proc {
	__u32 tgid;
	__u32 tries; /* attempts left to find its interpreter */
	__u64 gil_addr;
	__u32 version;
	bool gone;
};

struct top_func {
	__u32 id;
	char name[LS_TOP_FUNC_LEN];
};

struct func_count {
	struct {
		__u32 tgid, id;
	} key;
	__u64 n;
};

struct ls_top {
	const struct ls_top_opts *o;
	struct lockscope_bpf *skel;
	struct ring_buffer *rb;
	struct ls_writer w; /* Python's and the other load's records come here (sink) */
	struct ls_python py;
	struct ls_otherload other;
	struct ls_user user;
	struct ls_launch child;
	int pidfd;
	bool py_init;
	__u32 target;
	__u64 start_ns, last_ns, last_poll_ns;
	__u64 other_ts[2], other_ns[2]; /* the last two samples of untraced time */
	int nr_other;
	struct ls_htab threads, locks, gils; /* snapshots */
	struct ls_htab procs, funcs, counts;
	/* the interval handed out */
	struct ls_top_thread_row *trows;
	struct ls_top_lock_row *lrows;
	struct ls_top_gil_row *grows;
	size_t cap_t, cap_l, cap_g;
};

static void on_stop_signal(int sig)
{
	ls_top_stop_signal = sig;
}

void ls_top_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = ls_launch_on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void tables_init(struct ls_top *t)
{
	ls_htab_init(&t->threads, sizeof(struct snap_thread), offsetof(struct snap_thread, tid),
		     sizeof(__u32));
	ls_htab_init(&t->locks, sizeof(struct snap_lock), offsetof(struct snap_lock, key),
		     sizeof(struct ls_top_lock_key));
	ls_htab_init(&t->gils, sizeof(struct snap_gil), offsetof(struct snap_gil, tgid),
		     sizeof(__u32));
	ls_htab_init(&t->procs, sizeof(struct top_proc), offsetof(struct top_proc, tgid),
		     sizeof(__u32));
	ls_htab_init(&t->funcs, sizeof(struct top_func), offsetof(struct top_func, id),
		     sizeof(__u32));
	ls_htab_init(&t->counts, sizeof(struct func_count), offsetof(struct func_count, key),
		     sizeof(((struct func_count *)0)->key));
}

static struct top_proc *proc_get(struct ls_top *t, __u32 tgid)
{
	struct top_proc *p = ls_htab_get(&t->procs, &tgid, NULL);

	if (p)
		p->gone = false;
	return p;
}

/* What Python's side and the other load write: GIL locations, names, stacks, untraced time */
static int sink(void *ctx, const void *rec, size_t size)
{
	const struct ls_rec_hdr *h = rec;
	struct ls_top *t = ctx;

	switch (h->type) {
	case LS_REC_GIL_INFO: {
		const struct ls_gil_info *e = rec;
		struct top_proc *p = proc_get(t, h->tid);

		if (!p)
			return -ENOMEM;
		if (e->source != LS_GIL_SRC_DISABLED && e->gil_addr) {
			struct ls_top_gil zero = {};

			p->gil_addr = e->gil_addr;
			/* shown from now, whether its threads run or not */
			bpf_map__update_elem(t->skel->maps.top_gil, &h->tid, sizeof(h->tid), &zero,
					     sizeof(zero), BPF_NOEXIST);
		}
		p->version = e->version;
		p->tries = 0;
		break;
	}
	case LS_REC_OTHER_CPU: {
		const struct ls_other_cpu *e = rec;

		t->other_ts[t->nr_other % 2] = e->ts;
		t->other_ns[t->nr_other % 2] = e->untraced_ns;
		t->nr_other++;
		break;
	}
	case LS_REC_PY_FUNC: {
		const struct ls_py_func *e = rec;
		struct top_func *f;
		size_t n = e->name_len;
		char raw[LS_TOP_FUNC_LEN];

		if (size < sizeof(*e) + n)
			return 0;
		f = ls_htab_get(&t->funcs, &e->id, NULL);
		if (!f)
			return -ENOMEM;
		n = n < sizeof(raw) - 1 ? n : sizeof(raw) - 1;
		memcpy(raw, e->strs, n);
		raw[n] = '\0';
		ls_escape(f->name, sizeof(f->name), raw);
		break;
	}
	case LS_REC_PY_STATUS: {
		const struct ls_py_status *e = rec;

		if (t->o->verbose && size > sizeof(*e))
			fprintf(stderr, "lockscope top: Python stacks of PID %u: %s%.*s\n", h->tid,
				e->err ? "not read: " : "read", (int)(size - sizeof(*e) - 1),
				e->err ? e->why : "");
		break;
	}
	case LS_REC_PY_STACK: {
		const struct ls_py_stack *e = rec;
		struct func_count *c;

		if (e->kind != LS_PY_SAMPLED || !e->gil_held)
			break;
		for (__u32 i = 0; i < e->nr && sizeof(*e) + (i + 1) * sizeof(e->frames[0]) <= size;
		     i++) {
			struct func_count k = { .key = { e->tgid, e->frames[i].func } };

			if (!k.key.id)
				continue;
			c = ls_htab_get(&t->counts, &k.key, NULL);
			if (!c)
				return -ENOMEM;
			c->n++;
			break;
		}
		break;
	}
	}
	return 0;
}

/* A lifecycle record or a Python stack from the ring buffers */
static int on_event(void *ctx, void *data, size_t size)
{
	const struct ls_rec_hdr *h = data;
	struct ls_top *t = ctx;
	struct top_proc *p;
	__u64 now;

	if (size < sizeof(*h) || h->size > size)
		return 0;
	if (h->type == LS_REC_PY_SAMPLE)
		return ls_pystacks_sample(&t->py.stacks, &t->w, data, h->size) == -ENOMEM ? -ENOMEM
											  : 0;
	if (h->type != LS_REC_EXEC && h->type != LS_REC_EXIT && h->type != LS_REC_TASK_NEW)
		return 0;
	now = now_ns();
	if (ls_python_record(&t->py, &t->w, NULL, h, now) == -ENOMEM)
		return -ENOMEM;
	if (h->type == LS_REC_EXEC ||
	    (h->type == LS_REC_TASK_NEW &&
	     !(((const struct ls_task_new *)data)->flags & LS_TASK_THREAD))) {
		__u32 tgid = h->type == LS_REC_EXEC ? ((const struct ls_exec *)data)->tgid
						    : ((const struct ls_task_new *)data)->tgid;

		p = proc_get(t, tgid);
		if (!p)
			return -ENOMEM;
		if (h->type == LS_REC_EXEC) { /* a new program: its GIL, if any, is elsewhere */
			p->gil_addr = 0;
			p->tries = PY_TRIES;
			bpf_map__delete_elem(t->skel->maps.top_gil, &tgid, sizeof(tgid), 0);
		}
	} else if (h->type == LS_REC_EXIT) {
		const struct ls_exit *e = data;

		if (!(e->flags & LS_EXIT_GROUP_DEAD))
			return 0;
		/* after its final switch: its tgid may be reused */
		ls_untrace_tgid(t->skel, e->tgid);
		p = ls_htab_find(&t->procs, &e->tgid);
		if (p)
			p->gone = true;
	}
	return 0;
}

/* Processes exec'd lately: does an interpreter run there yet? */
static void find_pythons(struct ls_top *t)
{
	struct top_proc *p;
	size_t pos = 0;

	while ((p = ls_htab_next(&t->procs, &pos))) {
		if (p->gone || !p->tries || p->gil_addr)
			continue;
		p->tries--;
		if (!ls_python_attach(&t->py, p->tgid))
			p->tries = 0;
	}
}

int ls_top_poll(struct ls_top *t, int timeout_ms)
{
	/* records never wake us (BPF_RB_NO_WAKEUP): the poll is the tick, the consume reads */
	int err = ring_buffer__poll(t->rb, timeout_ms);
	__u64 now;

	if (err >= 0 || err == -EINTR)
		err = ring_buffer__consume(t->rb);
	if (err < 0 && err != -EINTR)
		return err;
	now = now_ns();
	if (now - t->last_poll_ns >= 100000000ULL) {
		t->last_poll_ns = now;
		find_pythons(t);
		if (ls_python_flush(&t->py, &t->w, now) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* linux/pidfd.h, 6.9: a pidfd for a thread, not only a leader */
#endif

/*
 * A thread found as top starts: its state from /proc, its switches counted from here, put in its
 * task storage through a pidfd. Where that cannot be done (a kernel before 6.9), the programs make
 * its storage at its first switch, and a thread that sleeps throughout is not shown.
 */
static void add_thread(struct ls_top *t, __u32 tgid, __u32 tid, __u8 state)
{
	struct ls_task_state v = { .top = { .valid = 1, .state = state } };
	char path[96], line[256];
	struct ls_proc_stat st;
	int pidfd;
	FILE *f;

	v.top.created = v.top.since = t->start_ns;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", tgid, tid);
	if (state == LS_TOP_OTHER && !ls_read_proc_stat(path, &st) && st.state == 'R')
		v.top.state = LS_TOP_RUNNABLE;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/syscall", tgid, tid);
	f = fopen(path, "re");
	if (f) {
		long nr = -1;

		if (v.top.state == LS_TOP_OTHER && fscanf(f, "%ld", &nr) == 1 && nr == SYS_futex)
			v.top.state = LS_TOP_LOCK;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%u/task/%u/status", tgid, tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long n;

		if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1)
			v.top.nvcsw0 = n;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1)
			v.top.nivcsw0 = n;
	}
	if (f)
		fclose(f);
	pidfd = syscall(SYS_pidfd_open, tid, tid == tgid ? 0 : PIDFD_THREAD);
	if (pidfd < 0)
		return;
	/* storage the programs made already is newer than what /proc said */
	bpf_map__update_elem(t->skel->maps.task_state, &pidfd, sizeof(pidfd), &v, sizeof(v),
			     BPF_NOEXIST);
	close(pidfd);
}

static void add_threads(struct ls_top *t, __u32 tgid)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%u/task", tgid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid > 0)
			add_thread(t, tgid, tid, LS_TOP_OTHER);
	}
	if (d)
		closedir(d);
}

static int load(struct ls_top *t)
{
	struct lockscope_bpf *skel;
	int err;

	skel = t->skel = lockscope_bpf__open();
	if (!skel)
		return ls_error(-errno, "cannot open the BPF object: %s", strerror(errno));
	err = bpf_map__set_max_entries(skel->maps.events, EVENTS_BYTES);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.py_events,
					       t->o->py_stacks ? PY_RING_BYTES : 4096);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.top_exited, LS_TOP_THREADS_MAX);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.top_locks, LS_TOP_LOCKS_MAX);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.top_gil, LS_TOP_GILS_MAX);
	if (err)
		return ls_error(err, "cannot size the maps: %s", strerror(-err));
	skel->rodata->aggregate = true;
	skel->rodata->py_stacks = t->o->py_stacks;
	skel->rodata->py_sample_every = LS_GIL_SAMPLE_HZ / LS_PY_SAMPLE_HZ;
	err = lockscope_bpf__load(skel);
	if (err)
		return ls_error(err,
				"cannot load the BPF programs: %s (run with -v for libbpf's log)",
				strerror(-err));
	err = lockscope_bpf__attach(skel);
	if (err)
		return ls_error(err, "cannot attach the BPF programs: %s (run with -v)",
				strerror(-err));
	t->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, t, NULL);
	if (!t->rb)
		return ls_error(-errno, "cannot open the ring buffer: %s", strerror(errno));
	err = ring_buffer__add(t->rb, bpf_map__fd(skel->maps.py_events), on_event, t);
	if (err)
		return ls_error(err, "cannot open the ring buffer: %s", strerror(-err));
	libbpf_num_possible_cpus();
	return 0;
}

struct ls_top *ls_top_open(const struct ls_top_opts *o)
{
	struct ls_top *t = calloc(1, sizeof(*t));
	struct top_proc *proc;
	const char *stage;
	int err;

	if (!t) {
		ls_error(-ENOMEM, "out of memory");
		return NULL;
	}
	t->o = o;
	t->pidfd = -1;
	t->child = (struct ls_launch){ .pid = -1, .pidfd = -1, .go_fd = -1, .err_fd = -1 };
	t->other.prog_fd = -1;
	tables_init(t);
	ls_writer_init_sink(&t->w, sink, t);
	ls_libbpf_print_init(o->verbose);
	err = ls_check_privileges();
	if (!err)
		err = ls_check_pid_namespace();
	if (!err && o->pid)
		err = ls_check_pid(o->pid, &t->pidfd);
	if (err)
		goto fail;
	err = ls_user_from_env(&t->user);
	if (err) {
		ls_error(err, "SUDO_UID/SUDO_GID are malformed: unset them or run through sudo");
		goto fail;
	}
	if (!o->pid) {
		prctl(PR_SET_CHILD_SUBREAPER, 1);
		err = ls_launch_prepare(&t->child, o->argv, &t->user);
		if (err) {
			ls_error(err, "cannot fork: %s", strerror(-err));
			goto fail;
		}
	}
	err = load(t);
	if (err)
		goto fail;
	ls_python_init(&t->py, t->skel, LS_GIL_AUTO, o->py_stacks);
	t->py_init = true;
	t->skel->bss->untraced_nr_cpus = libbpf_num_possible_cpus();
	ls_otherload_init(&t->other, bpf_program__fd(t->skel->progs.sample_untraced),
			  &t->skel->bss->untraced_sum);
	ls_otherload_visit(t->skel->bss->untraced_cpu, libbpf_num_possible_cpus());
	t->target = o->pid ? (__u32)o->pid : (__u32)t->child.pid;
	t->start_ns = t->last_ns = t->last_poll_ns = now_ns();
	t->skel->bss->untraced_origin = t->start_ns;
	err = ls_trace_tgid(t->skel, t->target);
	if (err) {
		ls_error(err, "cannot update the traced set: %s", strerror(-err));
		goto fail;
	}
	proc = proc_get(t, t->target);
	if (!proc) {
		err = ls_error(-ENOMEM, "out of memory");
		goto fail;
	}
	ls_otherload_sample(&t->other, &t->w, true, NULL);
	if (o->pid) {
		add_threads(t, t->target);
		ls_python_attach(&t->py, t->target);
		ls_python_flush(&t->py, &t->w, t->start_ns);
		if (ls_pid_exited(t->pidfd)) {
			err = ls_error(-ESRCH, "PID %d exited while lockscope was attaching",
				       o->pid);
			goto fail;
		}
		return t;
	}
	add_thread(t, t->target, t->target, LS_TOP_RUNNABLE);
	proc->tries = PY_TRIES;
	err = ls_launch_start(&t->child, &stage);
	if (err) {
		ls_launch_stop(&t->child, LS_LAUNCH_GRACE_MS);
		ls_error(err, "cannot run %s: %s failed: %s", o->argv[0], stage, strerror(-err));
		goto fail;
	}
	return t;
fail:
	ls_top_close(t);
	return NULL;
}

bool ls_top_target_gone(struct ls_top *t)
{
	if (t->o->pid)
		return ls_pid_exited(t->pidfd);
	return ls_launch_done(&t->child);
}

/* Room for one more row in *rows (cap *cap) */
static void *grow(void *rows, size_t *cap, size_t nr, size_t size)
{
	void *n;

	if (nr < *cap)
		return rows;
	n = realloc(rows, (*cap ? *cap * 2 : 64) * size);
	if (n)
		*cap = *cap ? *cap * 2 : 64;
	return n;
}

static __u64 sub(__u64 a, __u64 b)
{
	return a > b ? a - b : 0;
}

/* One thread's row: differenced against its last reading, into the interval and snaps */
static int thread_row(struct ls_top *t, struct ls_top_interval *iv, struct ls_htab *snaps,
		      const struct ls_top_thread *e, __u64 now)
{
	struct snap_thread *old = ls_htab_find(&t->threads, &e->tid), *s;
	struct ls_top_thread_row *r;

	if (old && old->created != e->created)
		old = NULL; /* its tid, reused */
	if (!(t->trows = grow(t->trows, &t->cap_t, iv->nr_threads, sizeof(*r))))
		return -ENOMEM;
	r = &t->trows[iv->nr_threads++];
	memset(r, 0, sizeof(*r));
	r->tid = e->tid;
	r->tgid = e->tgid;
	memcpy(r->comm, e->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = '\0';
	ls_escape_inplace(r->comm, sizeof(r->comm));
	r->exited = e->exited;
	r->vol = sub(e->nvcsw, old ? old->nvcsw : e->nvcsw0);
	r->invol = sub(e->nivcsw, old ? old->nivcsw : e->nivcsw0);
	r->turns = sub(e->turns, old ? old->turns : 0);
	s = e->exited ? NULL : ls_htab_get(snaps, &e->tid, NULL);
	if (!e->exited && !s)
		return -ENOMEM;
	for (int i = 0; i < LS_TOP_NR_STATES; i++) {
		__u64 total = e->state_ns[i];

		if (i == e->state && !e->exited)
			total += sub(now, e->since);
		r->state_ns[i] = sub(total, old ? old->total[i] : 0);
		if (s)
			s->total[i] = total;
	}
	if (s) {
		s->created = e->created;
		s->nvcsw = e->nvcsw;
		s->nivcsw = e->nivcsw;
		s->turns = e->turns;
	}
	return 0;
}

/*
 * The threads alive (the task iterator's rows) and those that exited since the last reading
 * (top_exited, emptied as it is read).
 */
static int read_threads(struct ls_top *t, struct ls_top_interval *iv, __u64 now)
{
	int fd = bpf_map__fd(t->skel->maps.top_exited), iter, err = 0;
	struct ls_top_thread rows[64];
	struct ls_htab snaps;
	__u32 key, next;
	ssize_t n = 0;

	ls_htab_init(&snaps, sizeof(struct snap_thread), offsetof(struct snap_thread, tid),
		     sizeof(__u32));
	iter = bpf_iter_create(bpf_link__fd(t->skel->links.dump_threads));
	if (iter < 0)
		err = -errno;
	while (!err && (n = read(iter, rows, sizeof(rows))) > 0)
		for (size_t i = 0; !err && i < n / sizeof(rows[0]); i++)
			err = thread_row(t, iv, &snaps, &rows[i], now);
	if (!err && n < 0)
		err = -errno;
	if (iter >= 0)
		close(iter);
	/* deleting the key just read: the next one is the map's first again */
	while (!err && !bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &rows[0]))
			err = thread_row(t, iv, &snaps, &rows[0], now);
		bpf_map_delete_elem(fd, &key);
	}
	ls_htab_free(&t->threads);
	t->threads = snaps;
	return err;
}

static int read_locks(struct ls_top *t, struct ls_top_interval *iv)
{
	int fd = bpf_map__fd(t->skel->maps.top_locks);
	struct ls_top_lock_key key, next, *gone = NULL;
	size_t nr_gone = 0, cap_gone = 0;
	struct ls_htab snaps;
	struct ls_top_lock e;
	void *prev_key = NULL;
	int err = 0;

	ls_htab_init(&snaps, sizeof(struct snap_lock), offsetof(struct snap_lock, key),
		     sizeof(struct ls_top_lock_key));
	while (!err && !bpf_map_get_next_key(fd, prev_key, &next)) {
		struct snap_lock *old, *s;
		struct ls_top_lock_row *r;
		struct top_proc *p;
		__u64 timed;
		bool same;

		key = next;
		prev_key = &key;
		if (bpf_map_lookup_elem(fd, &key, &e))
			continue;
		old = ls_htab_find(&t->locks, &key);
		timed = 0;
		for (int i = 0; i < LS_TOP_HIST; i++)
			timed += e.hist[i];
		same = old && old->timed == timed && old->sum.noblock == e.noblock;
		if (same) {
			if (old->idle + 1 >= LS_TOP_LOCK_IDLE) {
				struct ls_top_lock_key *g =
					grow(gone, &cap_gone, nr_gone, sizeof(*g));

				if (!g) {
					err = -ENOMEM;
					break;
				}
				gone = g;
				gone[nr_gone++] = key;
				continue;
			}
		}
		s = ls_htab_get(&snaps, &key, NULL);
		if (!s) {
			err = -ENOMEM;
			break;
		}
		s->sum = e;
		s->timed = timed;
		s->idle = same ? old->idle + 1 : 0;
		if (same)
			continue; /* no wait returned in the interval */
		if (!(t->lrows = grow(t->lrows, &t->cap_l, iv->nr_locks, sizeof(*r)))) {
			err = -ENOMEM;
			break;
		}
		r = &t->lrows[iv->nr_locks++];
		r->tgid = key.tgid;
		r->uaddr = key.uaddr;
		p = ls_htab_find(&t->procs, &key.tgid);
		r->gil_off = p && p->gil_addr && key.uaddr >= p->gil_addr &&
					     key.uaddr < p->gil_addr + LS_GIL_WORDS_HI
				     ? (__s64)(key.uaddr - p->gil_addr)
				     : -1;
#define D(f) (old ? sub(e.f, old->sum.f) : e.f)
		r->blocked = sub(timed, old ? old->timed : 0);
		r->waits = r->blocked + D(noblock);
		r->wait_ns = D(wait_ns);
		r->timedout = D(timedout);
		r->handoffs = D(handoffs);
		for (int i = 0; i < LS_TOP_HIST; i++)
			r->hist[i] =
				old ? (e.hist[i] > old->sum.hist[i] ? e.hist[i] - old->sum.hist[i]
								    : 0)
				    : e.hist[i];
#undef D
	}
	/* a wait that returns as the entry goes is lost: the word was unused for 30 intervals */
	for (size_t i = 0; i < nr_gone; i++)
		bpf_map_delete_elem(fd, &gone[i]);
	free(gone);
	ls_htab_free(&t->locks);
	t->locks = snaps;
	return err;
}

/* The function most GIL-held samples of process tgid were charged to in the interval */
static void top_function(struct ls_top *t, struct ls_top_gil_row *r)
{
	const struct func_count *c, *best = NULL;
	const struct top_func *f;
	size_t pos = 0;

	while ((c = ls_htab_next(&t->counts, &pos))) {
		if (c->key.tgid != r->tgid)
			continue;
		r->samples += c->n;
		if (!best || c->n > best->n)
			best = c;
	}
	f = best ? ls_htab_find(&t->funcs, &best->key.id) : NULL;
	if (!f)
		return;
	r->func_samples = best->n;
	snprintf(r->func, sizeof(r->func), "%s", f->name);
}

static int read_gils(struct ls_top *t, struct ls_top_interval *iv, __u64 now, __u64 wall)
{
	int fd = bpf_map__fd(t->skel->maps.top_gil);
	struct ls_htab snaps;
	struct ls_top_gil e;
	__u32 key, next;
	void *prev_key = NULL;
	int err = 0;

	ls_htab_init(&snaps, sizeof(struct snap_gil), offsetof(struct snap_gil, tgid),
		     sizeof(__u32));
	while (!err && !bpf_map_get_next_key(fd, prev_key, &next)) {
		struct top_proc *p = ls_htab_find(&t->procs, &next);
		struct snap_gil *old, *s;
		struct ls_top_gil_row *r;
		__u64 run, held, w, h;
		double share;

		key = next;
		prev_key = &key;
		if (bpf_map_lookup_elem(fd, &key, &e) || !p || !p->gil_addr)
			continue;
		if (!(t->grows = grow(t->grows, &t->cap_g, iv->nr_gils, sizeof(*r))) ||
		    !(s = ls_htab_get(&snaps, &key, NULL))) {
			err = -ENOMEM;
			break;
		}
		old = ls_htab_find(&t->gils, &key);
		s->running_ns =
			e.running_ns + (e.running && e.run_since ? sub(now, e.run_since) : 0);
		s->idle_held_ns =
			e.idle_held_ns +
			(!e.running && e.idle_since && e.idle_locked ? sub(now, e.idle_since) : 0);
		s->weight = e.sample_weight;
		s->held = e.sample_held;
		s->forced = e.forced;
		s->sn_known = !ls_pyfind_read(key, p->gil_addr + LS_GIL_SWITCH_NUMBER,
					      &s->switch_number, sizeof(s->switch_number));
		r = &t->grows[iv->nr_gils++];
		memset(r, 0, sizeof(*r));
		r->tgid = key;
		r->version = p->version;
		run = old ? sub(s->running_ns, old->running_ns) : s->running_ns;
		held = old ? sub(s->idle_held_ns, old->idle_held_ns) : s->idle_held_ns;
		w = old ? sub(s->weight, old->weight) : s->weight;
		h = old ? sub(s->held, old->held) : s->held;
		share = w ? (double)h / w : 0;
		r->load = wall ? (held + share * run) / wall : 0;
		r->load = r->load > 1 ? 1 : r->load;
		r->handoffs_known = old && old->sn_known && s->sn_known;
		r->handoffs = r->handoffs_known ? sub(s->switch_number, old->switch_number) : 0;
		r->forced = sub(s->forced, old ? old->forced : 0);
		for (size_t i = 0; i < iv->nr_locks; i++) {
			const struct ls_top_lock_row *l = &t->lrows[i];

			if (l->tgid != key || l->gil_off < 0)
				continue;
			if (l->gil_off >=
			    LS_GIL_TAKE_HI) /* a forced dropper's wait for its successor */
				continue;
			r->waits += l->blocked;
			r->wait_ns += l->wait_ns;
			if (l->gil_off >= LS_GIL_TAKE_LO)
				r->timeouts += l->timedout;
		}
		top_function(t, r);
	}
	ls_htab_free(&t->gils);
	t->gils = snaps;
	return err;
}

/* Drop the processes gone, and their GILs' entries: the tables stay as big as what is traced */
static int forget_gone(struct ls_top *t)
{
	struct ls_htab live;
	struct top_proc *p, *q;
	size_t pos = 0;

	ls_htab_init(&live, sizeof(struct top_proc), offsetof(struct top_proc, tgid),
		     sizeof(__u32));
	while ((p = ls_htab_next(&t->procs, &pos))) {
		if (p->gone) {
			bpf_map__delete_elem(t->skel->maps.top_gil, &p->tgid, sizeof(p->tgid), 0);
			continue;
		}
		q = ls_htab_get(&live, &p->tgid, NULL);
		if (!q) {
			ls_htab_free(&live);
			return -ENOMEM;
		}
		*q = *p;
	}
	ls_htab_free(&t->procs);
	t->procs = live;
	ls_htab_free(&t->counts);
	ls_htab_init(&t->counts, sizeof(struct func_count), offsetof(struct func_count, key),
		     sizeof(((struct func_count *)0)->key));
	return 0;
}

static __u64 lost_records(struct ls_top *t)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *lost, sum = 0;
	__u32 zero = 0;

	if (ncpus <= 0 || !(lost = calloc(ncpus, sizeof(*lost))))
		return 0;
	if (!bpf_map__lookup_elem(t->skel->maps.lost, &zero, sizeof(zero), lost,
				  ncpus * sizeof(*lost), 0))
		for (int i = 0; i < ncpus; i++)
			sum += lost[i];
	free(lost);
	return sum;
}

int ls_top_read(struct ls_top *t, struct ls_top_interval *iv)
{
	__u64 now;
	int err;

	err = ls_top_poll(t, 0);
	if (err)
		return err;
	now = now_ns();
	memset(iv, 0, sizeof(*iv));
	iv->start_ns = t->last_ns;
	iv->end_ns = now;
	iv->since_ns = t->start_ns;
	iv->target = t->target;
	iv->nr_cpus = libbpf_num_possible_cpus();
	if (!ls_otherload_sample(&t->other, &t->w, true, NULL) && t->nr_other >= 2) {
		int a = (t->nr_other - 2) % 2, b = (t->nr_other - 1) % 2;

		if (t->other_ts[b] > t->other_ts[a]) {
			iv->other_measured = true;
			iv->other_cpus = (double)sub(t->other_ns[b], t->other_ns[a]) /
					 (t->other_ts[b] - t->other_ts[a]);
		}
	}
	err = read_threads(t, iv, now);
	if (!err)
		err = read_locks(t, iv);
	if (!err)
		err = read_gils(t, iv, now, now - t->last_ns);
	if (!err)
		err = forget_gone(t);
	iv->threads = t->trows;
	iv->locks = t->lrows;
	iv->gils = t->grows;
	for (int i = 0; i < LS_TOP_NR_MAPS; i++)
		iv->full[i] = t->skel->bss->top_full[i];
	iv->lost = lost_records(t);
	t->last_ns = now;
	return err;
}

int ls_top_close(struct ls_top *t)
{
	int status;

	if (!t)
		return 1;
	if (t->skel) {
		ls_untrace_all(t->skel);
		lockscope_bpf__detach(t->skel);
	}
	if (t->py_init)
		ls_python_detach(&t->py);
	if (!t->o->pid && t->child.pid > 0 && !t->child.exited)
		ls_launch_stop(&t->child, LS_LAUNCH_GRACE_MS);
	ls_launch_abort(&t->child);
	if (t->o->verbose && t->skel)
		fprintf(stderr,
			"lockscope top: %llu Python stacks (%llu lost, %llu without a thread "
			"state), "
			"%zu functions\n",
			(unsigned long long)t->py.stacks.stacks,
			(unsigned long long)t->skel->bss->py_lost,
			(unsigned long long)t->skel->bss->py_no_tstate, t->py.stacks.funcs.nr);
	ring_buffer__free(t->rb);
	if (t->py_init)
		ls_python_free(&t->py);
	lockscope_bpf__destroy(t->skel);
	ls_htab_free(&t->threads);
	ls_htab_free(&t->locks);
	ls_htab_free(&t->gils);
	ls_htab_free(&t->procs);
	ls_htab_free(&t->funcs);
	ls_htab_free(&t->counts);
	free(t->trows);
	free(t->lrows);
	free(t->grows);
	if (t->pidfd >= 0)
		close(t->pidfd);
	status = t->o->pid ? 0 : ls_launch_exit_status(&t->child);
	free(t);
	return status;
}
