// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Trace Event Format writer. Two things are held back per thread, never more than a few:
 * - lock-wait slices until the thread's wait record names their lock (or moves them to
 *   gil-wait, as the analysis does), with the slices that follow them meanwhile, so that a
 *   thread's slices are written in order;
 * - flow events whose time is the start of a slice not written yet: a viewer binds a flow to the
 *   slice that encloses it, and at equal times it takes events in file order, so the slice must
 *   come first.
 * Times are microseconds since the window's start with three decimals: exact nanoseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "render.h"
#include "render_chrome.h"
#include "version.h"

#define PENDING_MAX 1024 /* slices held for one wait record, beyond which they go out unnamed */
#define LABELS	    64	 /* lock names kept, by address */

enum naming { UNNAMED, LOCK, GIL };

struct slice {
	__u64 since, until;
	enum ls_state state;
};

struct flow {
	__u64 id, ts;
	char ph; /* 's' at the releaser, 'f' at the waiter */
};

struct track {
	__u32 tid; /* key */
	__u32 tgid;
	__u64 open_since; /* the start of the slice still open: the end of the last one told */
	struct slice *pending;
	size_t nr_pending, cap_pending;
	struct flow *flows; /* each to follow the slice that holds it */
	size_t nr_flows, cap_flows;
};

struct label {
	__u32 tgid;
	__u64 uaddr;
	char name[96];
};

struct ls_chrome {
	FILE *out;
	struct ls_observer obs;
	struct ls_htab tracks; /* struct track by tid */
	bool started;	       /* the opening is written */
	bool oom;
	__u64 nr_events;
	__u64 start_ns; /* ts 0 */
	__u64 next_flow;
	__u32 counter_pid;
	bool busy_pending; /* busy(t) changes at one instant are written once, as the last */
	__u64 busy_ts, busy_written_ts;
	__u32 busy, busy_written;
	struct label labels[LABELS];
	/* the Python functions of the GIL wait whose slices are being written, NULL if unknown */
	const char *py_waiter, *py_holder;
};

static const char *const state_names[LS_ST_NR] = { "running", "runnable", "lock-wait", "gil-wait",
						   "other-wait" };

static void put_us(FILE *out, const char *key, __u64 ns)
{
	fprintf(out, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
		(unsigned long long)(ns % 1000));
}

static __u64 rel(const struct ls_chrome *c, __u64 ts)
{
	return ts > c->start_ns ? ts - c->start_ns : 0;
}

/* The separator before an event, and its phase. */
static void event(struct ls_chrome *c, char ph, const char *name)
{
	fputs(c->nr_events++ ? ",\n" : "\n", c->out);
	fprintf(c->out, "{\"ph\":\"%c\",\"name\":", ph);
	ls_json_put_string(c->out, name);
}

static void put_other(FILE *out, const char *key, const char *value, bool first)
{
	fprintf(out, "%s\"%s\":", first ? "" : ",", key);
	ls_json_put_string(out, value);
}

/* busy(t): the number of traced threads on a CPU, from ts on */
static void write_busy(struct ls_chrome *c, __u64 ts, __u32 busy)
{
	event(c, 'C', "busy"); /* Perfetto names the track "busy threads", after the arg */
	fprintf(c->out, ",\"pid\":%u", c->counter_pid);
	put_us(c->out, "ts", rel(c, ts));
	fprintf(c->out, ",\"args\":{\"threads\":%u}}", busy);
	c->busy_written = busy;
	c->busy_written_ts = ts;
}

/* The opening, once the recording's header is known: what it is, then the events. */
static void start(struct ls_chrome *c, const struct ls_analysis *a)
{
	char buf[32];

	if (c->started)
		return;
	c->started = true;
	c->start_ns = a->start_ns;
	c->counter_pid = a->hdr.target_pid;
	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{", c->out);
	put_other(c->out, "producer", "lockscope " LOCKSCOPE_VERSION, true);
	put_other(c->out, "kernel", a->hdr.kernel, false);
	snprintf(buf, sizeof(buf), "%u", a->hdr.nr_cpus);
	put_other(c->out, "cpus", buf, false);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)a->hdr.start_real_ns);
	put_other(c->out, "start_realtime_ns", buf, false);
	fputs("},\n\"traceEvents\":[", c->out);
	write_busy(c, c->start_ns, 0);
}

static struct track *track_get(struct ls_chrome *c, __u32 tid, __u32 tgid, __u64 since)
{
	bool created;
	struct track *tr = ls_htab_get(&c->tracks, &tid, &created);

	if (!tr) {
		c->oom = true;
		return NULL;
	}
	if (created) {
		tr->tgid = tgid;
		tr->open_since = since;
	}
	return tr;
}

static void write_flow(struct ls_chrome *c, __u32 tgid, __u32 tid, const struct flow *f)
{
	event(c, f->ph, "handoff");
	fprintf(c->out, ",\"cat\":\"handoff\",\"id\":%llu%s,\"pid\":%u,\"tid\":%u",
		(unsigned long long)f->id, f->ph == 'f' ? ",\"bp\":\"e\"" : "", tgid, tid);
	put_us(c->out, "ts", rel(c, f->ts));
	fputc('}', c->out);
}

/* The held flows before until (all of them: ~0), now that their slice is written. */
static void write_flows(struct ls_chrome *c, struct track *tr, __u64 until)
{
	size_t kept = 0;

	for (size_t i = 0; i < tr->nr_flows; i++) {
		if (tr->flows[i].ts < until)
			write_flow(c, tr->tgid, tr->tid, &tr->flows[i]);
		else
			tr->flows[kept++] = tr->flows[i];
	}
	tr->nr_flows = kept;
}

static const char *label(struct ls_chrome *c, const struct ls_analysis *a, __u32 tgid, __u64 uaddr)
{
	struct label *l = &c->labels[(uaddr >> 2 ^ tgid) % LABELS];

	if (l->tgid != tgid || l->uaddr != uaddr || !l->name[0]) {
		l->tgid = tgid;
		l->uaddr = uaddr;
		ls_addr_label(a, tgid, uaddr, l->name, sizeof(l->name));
	}
	return l->name;
}

static void write_slice(struct ls_chrome *c, const struct ls_analysis *a, struct track *tr,
			const struct slice *s, enum naming naming, __u64 uaddr)
{
	bool wait = s->state == LS_ST_LOCK_WAIT;
	char addr[24];

	if (s->until > s->since) {
		event(c, 'X', state_names[wait && naming == GIL ? LS_ST_GIL_WAIT : s->state]);
		fprintf(c->out, ",\"cat\":\"state\",\"pid\":%u,\"tid\":%u", tr->tgid, tr->tid);
		put_us(c->out, "ts", rel(c, s->since));
		put_us(c->out, "dur", s->until - s->since);
		if (wait && naming != UNNAMED && a) {
			snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)uaddr);
			fputs(",\"args\":{\"lock\":", c->out);
			ls_json_put_string(c->out, addr);
			fputs(",\"name\":", c->out);
			ls_json_put_string(c->out, label(c, a, tr->tgid, uaddr));
			if (naming == GIL && c->py_waiter) {
				fputs(",\"python\":", c->out);
				ls_json_put_string(c->out, c->py_waiter);
			}
			if (naming == GIL && c->py_holder) {
				fputs(",\"holder_python\":", c->out);
				ls_json_put_string(c->out, c->py_holder);
			}
			fputc('}', c->out);
		}
		fputc('}', c->out);
	}
	write_flows(c, tr, s->until);
}

static void write_pending(struct ls_chrome *c, const struct ls_analysis *a, struct track *tr,
			  enum naming naming, __u64 uaddr)
{
	for (size_t i = 0; i < tr->nr_pending; i++)
		write_slice(c, a, tr, &tr->pending[i], naming, uaddr);
	tr->nr_pending = 0;
}

/* Append to a growing array; false when out of memory. */
static bool grow(void **v, size_t *cap, size_t nr, size_t size)
{
	size_t n = *cap ? 2 * *cap : 4;
	void *p;

	if (nr < *cap)
		return true;
	p = realloc(*v, n * size);
	if (!p)
		return false;
	*v = p;
	*cap = n;
	return true;
}

static void on_state(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
		     enum ls_state state, __u64 since, __u64 until)
{
	struct ls_chrome *c = ctx;
	struct slice s = { since, until, state };
	struct track *tr = track_get(c, t->tid, t->tgid, since);

	start(c, a);
	if (!tr)
		return;
	tr->tgid = t->tgid; /* an exec may have moved it */
	tr->open_since = until;
	if (state != LS_ST_LOCK_WAIT && !tr->nr_pending) {
		write_slice(c, a, tr, &s, UNNAMED, 0);
		return;
	}
	if (!grow((void **)&tr->pending, &tr->cap_pending, tr->nr_pending, sizeof(s))) {
		c->oom = true;
		write_pending(c, a, tr, UNNAMED, 0);
		write_slice(c, a, tr, &s, UNNAMED, 0);
		return;
	}
	tr->pending[tr->nr_pending++] = s;
	if (tr->nr_pending >= PENDING_MAX) /* its wait records were lost */
		write_pending(c, a, tr, UNNAMED, 0);
}

/* Function id of process tgid as "name (file:line)" into buf, or NULL */
static const char *py_name(const struct ls_analysis *a, __u32 tgid, __u32 id, char *buf,
			   size_t len)
{
	const struct ls_pyfunc *f = ls_pyfunc_find(a, tgid, id);

	return f ? ls_pyfunc_label(f, f->firstlineno, buf, len) : NULL;
}

static void on_wait(void *ctx, const struct ls_analysis *a, const struct ls_thread *t, __u64 uaddr,
		    bool gil)
{
	struct ls_chrome *c = ctx;
	struct track *tr = ls_htab_find(&c->tracks, &t->tid);
	const struct ls_thread_py *tp = t->py;
	char waiter[256], holder[256];

	if (!tr)
		return;
	/* the Python stacks taken as this wait began: inside its held slices */
	if (gil && tp && tp->wait_open && tr->nr_pending && tp->wait_ts >= tr->pending[0].since &&
	    tp->wait_ts <= tr->open_since) {
		c->py_waiter = py_name(a, tp->wait_tgid, tp->wait_func, waiter, sizeof(waiter));
		c->py_holder = tp->holder_known ? py_name(a, tp->wait_tgid, tp->holder_func, holder,
							  sizeof(holder))
						: NULL;
	}
	write_pending(c, a, tr, gil ? GIL : LOCK, uaddr);
	c->py_waiter = c->py_holder = NULL;
}

/* A Python sample: an instant on its thread's track, named by its innermost resolved function */
static void on_py_stack(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			const struct ls_py_stack *ps)
{
	struct ls_chrome *c = ctx;
	const struct ls_pyfunc *f = NULL;
	char name[256];

	if (!t || ps->kind != LS_PY_SAMPLED || ps->ts < a->start_ns)
		return;
	start(c, a);
	/* its innermost resolved frame, as the report charges it: an unresolved one is unnamed */
	for (int i = 0; i < ps->nr; i++) {
		if (ps->frames[i].func) {
			f = ls_pyfunc_find(a, ps->tgid, ps->frames[i].func);
			break;
		}
	}
	event(c, 'i', f ? ls_pyfunc_label(f, f->firstlineno, name, sizeof(name)) : "[unknown]");
	fprintf(c->out, ",\"cat\":\"python\",\"s\":\"t\",\"pid\":%u,\"tid\":%u", t->tgid, t->tid);
	put_us(c->out, "ts", rel(c, ps->ts));
	fprintf(c->out, ",\"args\":{\"gil_held\":%u,\"frames\":%u}}", !!ps->gil_held, ps->nr);
}

static void flow(struct ls_chrome *c, const struct ls_analysis *a, __u32 tid, __u32 tgid,
		 const struct flow *f)
{
	const struct ls_thread *t = ls_htab_find(&a->threads, &tid);
	struct track *tr = track_get(c, tid, t ? t->tgid : tgid, t ? t->start : 0);
	bool held;

	if (!tr) {
		write_flow(c, t ? t->tgid : tgid, tid, f);
		return;
	}
	/* its slice is not written yet, and may start at f->ts */
	held = f->ts == tr->open_since ||
	       (tr->nr_pending && f->ts >= tr->pending[0].since && f->ts < tr->open_since);
	if (held && grow((void **)&tr->flows, &tr->cap_flows, tr->nr_flows, sizeof(*f)))
		tr->flows[tr->nr_flows++] = *f;
	else
		write_flow(c, tr->tgid, tid, f);
}

static void on_handoff(void *ctx, const struct ls_analysis *a, const struct ls_lock *l,
		       __u32 from_tid, __u32 to_tid, __u64 release_ts, __u64 acquire_ts)
{
	struct ls_chrome *c = ctx;
	struct flow s = { ++c->next_flow, release_ts, 's' }, f = { s.id, acquire_ts, 'f' };

	start(c, a);
	flow(c, a, from_tid, l->key.tgid, &s);
	flow(c, a, to_tid, l->key.tgid, &f);
}

static void on_busy(void *ctx, const struct ls_analysis *a, __u64 ts, __u32 busy)
{
	struct ls_chrome *c = ctx;

	start(c, a);
	if (c->busy_pending && ts != c->busy_ts && c->busy != c->busy_written)
		write_busy(c, c->busy_ts, c->busy);
	c->busy_pending = true;
	c->busy_ts = ts;
	c->busy = busy;
}

struct ls_chrome *ls_chrome_new(FILE *out)
{
	struct ls_chrome *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->out = out;
	c->obs = (struct ls_observer){ .ctx = c,
				       .on_state = on_state,
				       .on_wait = on_wait,
				       .on_handoff = on_handoff,
				       .on_busy = on_busy,
				       .on_py_stack = on_py_stack };
	ls_htab_init(&c->tracks, sizeof(struct track), offsetof(struct track, tid), sizeof(__u32));
	return c;
}

const struct ls_observer *ls_chrome_observer(struct ls_chrome *c)
{
	return &c->obs;
}

static void write_name(struct ls_chrome *c, const char *what, __u32 pid, __u32 tid,
		       const char *name)
{
	event(c, 'M', what);
	fprintf(c->out, ",\"pid\":%u", pid);
	if (tid)
		fprintf(c->out, ",\"tid\":%u", tid);
	fputs(",\"args\":{\"name\":", c->out);
	ls_json_put_string(c->out, name);
	fputs("}}", c->out);
}

/* Threads by their comm; a process by its leader's, or its first thread's without a leader. */
static void write_names(struct ls_chrome *c, const struct ls_analysis *a)
{
	struct ls_htab named;
	const struct ls_thread *t;
	size_t pos = 0;

	ls_htab_init(&named, sizeof(__u32), 0, sizeof(__u32));
	for (int leaders = 1; leaders >= 0; leaders--) {
		pos = 0;
		while ((t = ls_htab_next(&a->threads, &pos))) {
			bool created = false;

			if (leaders && t->tid != t->tgid)
				continue;
			if (!ls_htab_get(&named, &t->tgid, &created))
				c->oom = true;
			if (created)
				write_name(c, "process_name", t->tgid, 0, t->comm);
		}
	}
	ls_htab_free(&named);
	pos = 0;
	while ((t = ls_htab_next(&a->threads, &pos)))
		write_name(c, "thread_name", t->tgid, t->tid, t->comm);
}

int ls_chrome_finish(struct ls_chrome *c, const struct ls_analysis *a)
{
	struct track *tr;
	size_t pos = 0;

	if (!c->started && !a)
		return 0; /* nothing was read: nothing to close */
	if (a)
		start(c, a);
	/* lock-wait slices whose wait record never came (the window ended inside the wait) */
	while ((tr = ls_htab_next(&c->tracks, &pos))) {
		write_pending(c, a, tr, UNNAMED, 0);
		write_flows(c, tr, ~0ULL);
	}
	if (c->busy_pending && c->busy != c->busy_written)
		write_busy(c, c->busy_ts, c->busy);
	if (a && rel(c, a->end_ns) > rel(c, c->busy_written_ts))
		write_busy(c, a->end_ns, c->busy); /* the counter's track reaches the end */
	if (a)
		write_names(c, a);
	fputs("\n]}\n", c->out);
	if (fflush(c->out) || ferror(c->out))
		return -EIO;
	return c->oom ? -ENOMEM : 0;
}

void ls_chrome_free(struct ls_chrome *c)
{
	struct track *tr;
	size_t pos = 0;

	if (!c)
		return;
	while ((tr = ls_htab_next(&c->tracks, &pos))) {
		free(tr->pending);
		free(tr->flows);
	}
	ls_htab_free(&c->tracks);
	free(c);
}
