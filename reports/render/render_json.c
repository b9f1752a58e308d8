// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "render.h"
#include "render_json.h"
#include "sites.h"
#include "version.h"

static const char *const state_keys[LS_ST_NR] = { "running", "runnable", "lock_wait", "gil_wait",
						  "other_wait" };

static void json_hist(struct ls_json *j, const char *key, const struct ls_hist *h)
{
	if (!h->count) {
		ls_json_null(j, key);
		return;
	}
	ls_json_object(j, key);
	ls_json_u64(j, "count", h->count);
	ls_json_u64(j, "total", h->total);
	ls_json_u64(j, "mean", ls_hist_mean(h));
	ls_json_u64(j, "p50", ls_hist_quantile(h, 0.5));
	ls_json_u64(j, "p99", ls_hist_quantile(h, 0.99));
	ls_json_u64(j, "max", h->max);
	ls_json_end(j, '}');
}

static void json_states(struct ls_json *j, const char *key, const __u64 *ns)
{
	ls_json_object(j, key);
	for (int s = 0; s < LS_ST_NR; s++)
		ls_json_u64(j, state_keys[s], ns[s]);
	ls_json_end(j, '}');
}

void ls_json_recording(struct ls_json *j, const char *key, const struct ls_report *rep)
{
	const struct ls_analysis *a = rep->a;
	const char *path = rep->path;
	static const char *const reasons[] = { [LS_STOP_EXITED] = "exited",
					       [LS_STOP_DURATION] = "duration",
					       [LS_STOP_SIGNAL] = "signal" };
	unsigned int r = a->end.stop_reason;

	ls_json_object(j, key);
	ls_json_str(j, "path", path ? path : "");
	ls_json_str(j, "command", a->cmdline);
	ls_json_str(j, "mode", a->hdr.mode == LS_MODE_PID ? "pid" : "launch");
	ls_json_u64(j, "target_pid", a->hdr.target_pid);
	ls_json_str(j, "kernel", a->hdr.kernel);
	ls_json_u64(j, "cpus", a->hdr.nr_cpus);
	ls_json_u64(j, "start_realtime_ns", a->hdr.start_real_ns);
	ls_json_u64(j, "start_ns", a->start_ns);
	ls_json_u64(j, "end_ns", a->end_ns);
	ls_json_u64(j, "records", a->nr_records);
	ls_json_u64(j, "lost_records", a->nr_lost);
	ls_json_u64(j, "map_snapshots_failed", a->nr_maps_failed);
	if (a->nr_maps_failed)
		ls_json_str(j, "map_snapshot_error", strerror(a->maps_failed_err));
	else
		ls_json_null(j, "map_snapshot_error");
	ls_json_bool(j, "complete", a->complete);
	if (a->complete)
		ls_json_null(j, "truncated");
	else
		ls_json_str(j, "truncated", a->status);
	if (a->complete && r < sizeof(reasons) / sizeof(reasons[0]) && reasons[r])
		ls_json_str(j, "stop_reason", reasons[r]);
	else
		ls_json_null(j, "stop_reason");
	if (a->complete && a->end.exit_status >= 0)
		ls_json_i64(j, "exit_status", a->end.exit_status);
	else
		ls_json_null(j, "exit_status");
	ls_json_u64(j, "records_left_out", a->records_left_out);
	ls_json_bool(j, "locks_folded", a->locks_folded);
	ls_json_bool(j, "pairs_left_out", a->pairs_left_out);
	ls_json_bool(j, "gils_left_out", a->gils_left_out);
	ls_json_u64(j, "python_functions_left_out", a->py.funcs_left_out);
	ls_json_bool(j, "python_pairs_left_out", a->py.pairs_left_out);
	ls_json_end(j, '}');
}

/* The parallelism figures of the window or of a phase */
static void json_parallelism(struct ls_json *j, const struct ls_summary *s)
{
	ls_json_double(j, "effective_parallelism", s->parallelism);
	ls_json_double(j, "ceiling", s->ceiling);
	ls_json_double(j, "utilization", s->utilization);
	if (s->other_measured)
		ls_json_double(j, "other_cpus", s->other_cpus);
	else
		ls_json_null(j, "other_cpus");
}

void ls_json_summary(struct ls_json *j, const char *key, const struct ls_report *r)
{
	const struct ls_summary *s = &r->summary;

	ls_json_object(j, key);
	ls_json_u64(j, "wall_ns", s->wall_ns);
	ls_json_u64(j, "cpu_ns", s->cpu_ns);
	json_parallelism(j, s);
	ls_json_array(j, "concurrency_profile");
	for (unsigned int i = 0; i <= s->profile_top; i++)
		ls_json_double(j, NULL, s->profile[i]);
	ls_json_end(j, ']');
	json_states(j, "state_ns", s->state_ns);
	ls_json_u64(j, "thread_time_ns", s->lifetime_ns);
	ls_json_double(j, "lock_wait_share", s->lock_wait_share);
	ls_json_double(j, "gil_wait_share", s->gil_wait_share);
	ls_json_double(j, "other_wait_share", s->other_wait_share);
	ls_json_double(j, "sync_wait_share_of_offcpu", s->sync_wait_offcpu);
	ls_json_double(j, "sync_wait_share_of_blocked", s->sync_wait_blocked);
	ls_json_double(j, "runnable_share_of_offcpu", s->runnable_offcpu);
	ls_json_u64(j, "handoffs", s->handoffs);
	ls_json_double(j, "handoffs_per_s", s->handoffs_per_s);
	ls_json_u64(j, "vol_switches", s->vol_switches);
	ls_json_u64(j, "invol_switches", s->invol_switches);
	ls_json_double(j, "vol_switches_per_s", s->vol_per_s);
	ls_json_double(j, "invol_switches_per_s", s->invol_per_s);
	ls_json_u64(j, "threads", s->threads);
	ls_json_u64(j, "processes", s->processes);
	ls_json_u64(j, "peak_threads", s->peak_alive);
	ls_json_u64(j, "working_threads", s->working);
	ls_json_u64(j, "turn_takers", s->turn_takers);
	ls_json_u64(j, "sync_waiters", s->sync_waiters);
	if (s->top_lock)
		ls_json_str(j, "top_lock", ls_report_lock_label(r, s->top_lock));
	else
		ls_json_null(j, "top_lock");
	ls_json_str(j, "verdict", ls_verdict_name(s->verdict));
	ls_json_end(j, '}');
}

/* The function of most of a thread's Python samples, or null */
static void json_py_top(struct ls_json *j, const struct ls_analysis *a, const struct ls_thread *t)
{
	const struct ls_pyfunc *f = t->py ? ls_pyfunc_find(a, t->tgid, t->py->top_func) : NULL;

	if (!f) {
		ls_json_null(j, "python_top_function");
		return;
	}
	ls_json_object(j, "python_top_function");
	ls_json_str(j, "function", f->name);
	ls_json_str(j, "file", f->file);
	ls_json_i64(j, "line", f->firstlineno);
	ls_json_u64(j, "samples", t->py->top_samples);
	ls_json_u64(j, "thread_samples", t->py->samples);
	ls_json_end(j, '}');
}

static void json_thread(struct ls_json *j, const struct ls_analysis *a, const struct ls_thread *t,
			const struct ls_fold *fold)
{
	ls_json_object(j, NULL);
	ls_json_u64(j, "tid", t->tid);
	ls_json_u64(j, "pid", t->tgid);
	ls_json_str(j, "comm", t->comm);
	ls_json_bool(j, "folded", ls_fold_has(fold, t->tgid));
	ls_json_u64(j, "start_ns", t->start);
	if (t->end)
		ls_json_u64(j, "end_ns", t->end);
	else
		ls_json_null(j, "end_ns");
	ls_json_u64(j, "lifetime_ns", ls_thread_lifetime(a, t));
	json_states(j, "state_ns", t->state_ns);
	ls_json_u64(j, "vol_switches", t->vol_switches);
	ls_json_u64(j, "invol_switches", t->invol_switches);
	ls_json_object(j, "vol_switches_by_state");
	for (int s = LS_ST_LOCK_WAIT; s < LS_ST_NR; s++)
		ls_json_u64(j, state_keys[s], t->vol_by_state[s]);
	ls_json_end(j, '}');
	ls_json_u64(j, "runq_latency_total_ns", t->runq_ns);
	ls_json_u64(j, "runq_latency_count", t->runq_count);
	if (t->exited)
		ls_json_i64(j, "exit_status", t->exit_code);
	else
		ls_json_null(j, "exit_status");
	json_py_top(j, a, t);
	ls_json_end(j, '}');
}

/* What the text report folds: the short-lived processes that did little, by command */
static void json_folded(struct ls_json *j, const struct ls_fold *f)
{
	ls_json_object(j, "folded_processes");
	ls_json_u64(j, "processes", f->processes);
	ls_json_u64(j, "threads", f->threads);
	ls_json_u64(j, "cpu_ns", f->cpu_ns);
	ls_json_array(j, "commands");
	for (size_t i = 0; i < f->nr_groups; i++) {
		ls_json_object(j, NULL);
		ls_json_str(j, "comm", f->groups[i].comm);
		ls_json_u64(j, "processes", f->groups[i].processes);
		ls_json_u64(j, "threads", f->groups[i].threads);
		ls_json_u64(j, "cpu_ns", f->groups[i].cpu_ns);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
	ls_json_end(j, '}');
}

#define JSON_CALL_SITES 16

static void json_call_sites(struct ls_json *j, const struct ls_analysis *a, const struct ls_lock *l)
{
	struct ls_call_site sites[JSON_CALL_SITES];
	size_t n = ls_lock_call_sites(a, l, sites, JSON_CALL_SITES);
	char buf[256];

	ls_json_array(j, "call_sites");
	for (size_t i = 0; i < n; i++) {
		ls_json_object(j, NULL);
		if (sites[i].ip) {
			ls_json_str(j, "caller",
				    ls_frame_name(a, l->key.tgid, sites[i].ip, buf, sizeof(buf)));
			ls_json_str(
				j, "function",
				ls_frame_function(a, l->key.tgid, sites[i].ip, buf, sizeof(buf)));
		} else {
			ls_json_null(j, "caller");
			ls_json_null(j, "function");
		}
		ls_json_u64(j, "wait_ns", sites[i].wait_ns);
		ls_json_u64(j, "blocked_waits", sites[i].waits);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
}

static void json_lock(struct ls_json *j, const struct ls_report *r, const struct ls_lock *l)
{
	const struct ls_analysis *a = r->a;
	static const char *const outcome_keys[LS_OUT_NR] = { "woken", "timed_out", "no_block",
							     "interrupted", "error" };
	bool mutex = ls_lock_is_mutex(l);

	ls_json_object(j, NULL);
	ls_json_u64(j, "pid", l->key.tgid);
	ls_json_u64(j, "address", l->key.uaddr);
	ls_json_str(j, "name", ls_report_lock_label(r, l));
	ls_json_bool(j, "other_locks", ls_lock_is_others(l));
	ls_json_str(j, "kind", mutex ? "mutex" : "condition/other");
	ls_json_u64(j, "waits", l->waits);
	ls_json_u64(j, "blocked_waits", l->blocked);
	ls_json_object(j, "outcomes");
	for (int o = 0; o < LS_OUT_NR; o++)
		ls_json_u64(j, outcome_keys[o], l->outcomes[o]);
	ls_json_end(j, '}');
	json_hist(j, "wait_ns", &l->wait);
	ls_json_u64(j, "wakes", l->wakes);
	ls_json_u64(j, "woken", l->woken);
	if (mutex)
		ls_json_u64(j, "contended_acquisitions", l->acquisitions);
	else
		ls_json_null(j, "contended_acquisitions");
	if (mutex)
		json_hist(j, "hold_ns_inferred", &l->hold);
	else
		ls_json_null(j, "hold_ns_inferred");
	ls_json_u64(j, "handoffs", l->handoffs);
	json_hist(j, "handoff_latency_ns", &l->handoff_latency);
	if (a->has_stacks)
		json_call_sites(j, a, l);
	else
		ls_json_null(j, "call_sites");
	ls_json_end(j, '}');
}

/* name: the load or null; name_error: 2 standard errors when sampled, 0 when exact, or null */
static void json_gil_load(struct ls_json *j, const char *name, struct ls_gil_load l)
{
	char key[64];

	snprintf(key, sizeof(key), "%s_error", name);
	if (l.known) {
		ls_json_double(j, name, l.load);
		ls_json_double(j, key, l.sampled ? l.err : 0);
	} else {
		ls_json_null(j, name);
		ls_json_null(j, key);
	}
}

/* threads: sorted by process, then tid; n of them */
static void json_gil(struct ls_json *j, const struct ls_analysis *a, const struct ls_gil *g,
		     struct ls_thread *const *threads, size_t n)
{
	double wall = (a->end_ns - a->start_ns) / 1e9;
	bool probes = g->source == LS_GIL_SRC_PROBES, known = g->source != LS_GIL_SRC_DISABLED;
	char version[16];

	ls_json_object(j, NULL);
	ls_json_u64(j, "pid", g->tgid);
	ls_json_str(j, "source", ls_gil_source_name(g->source));
	snprintf(version, sizeof(version), "%u.%u.%u", g->version >> 16, (g->version >> 8) & 0xff,
		 g->version & 0xff);
	ls_json_str(j, "version", version);
	ls_json_u64(j, "address", g->addr);
	ls_json_u64(j, "interval_us", g->interval_us);
	json_gil_load(j, "gil_load", ls_gil_load(a, g));
	/* beside the probes' exact figure, what sampling alone would have said */
	if (probes)
		json_gil_load(j, "gil_load_sampled", ls_gil_load_sampled(a, g));
	ls_json_u64(j, "gil_samples", g->samples);
	if (known) {
		ls_json_u64(j, "acquisitions", g->acquisitions);
		ls_json_u64(j, "handoffs", g->handoffs);
		ls_json_double(j, "handoffs_per_s", wall > 0 ? g->handoffs / wall : 0);
		ls_json_u64(j, "forced_switches", g->forced);
	} else {
		ls_json_null(j, "acquisitions");
		ls_json_null(j, "handoffs");
		ls_json_null(j, "handoffs_per_s");
		ls_json_null(j, "forced_switches");
	}
	if (g->have_start && g->have_end)
		ls_json_u64(j, "switch_number_delta",
			    g->switch_number_end - g->switch_number_start);
	else
		ls_json_null(j, "switch_number_delta");
	json_hist(j, "wait_ns", &g->wait);
	json_hist(j, "hold_ns", &g->hold);
	json_hist(j, "handoff_latency_ns", &g->handoff_latency);
	ls_json_array(j, "threads");
	for (size_t i = ls_threads_of(threads, n, g->tgid); i < n && threads[i]->tgid == g->tgid;
	     i++) {
		const struct ls_thread *t = threads[i];

		if (!t->gil)
			continue;
		ls_json_object(j, NULL);
		ls_json_u64(j, "tid", t->tid);
		ls_json_u64(j, "acquisitions", t->gil->acquisitions);
		if (probes)
			ls_json_u64(j, "hold_ns", t->gil->hold_ns);
		else
			ls_json_null(j, "hold_ns");
		ls_json_u64(j, "wait_ns", t->gil->wait_ns);
		json_hist(j, "wait_hist_ns", &t->gil->wait);
		json_hist(j, "hold_hist_ns", &t->gil->hold);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
	ls_json_end(j, '}');
}

static int cmp_tid(const void *pa, const void *pb)
{
	const struct ls_thread *x = *(const struct ls_thread *const *)pa;
	const struct ls_thread *y = *(const struct ls_thread *const *)pb;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_tgid_tid(const void *pa, const void *pb)
{
	const struct ls_thread *x = *(const struct ls_thread *const *)pa;
	const struct ls_thread *y = *(const struct ls_thread *const *)pb;

	return x->tgid != y->tgid ? (x->tgid < y->tgid ? -1 : 1) : cmp_tid(pa, pb);
}

static void json_gils(struct ls_json *j, const struct ls_report *r)
{
	const struct ls_analysis *a = r->a;
	struct ls_thread **v = NULL;
	const struct ls_gil *g;
	size_t pos = 0;

	/* sorted once for every GIL: a trace may hold thousands */
	if (a->gils.nr)
		v = ls_report_threads_by(r, cmp_tgid_tid);
	ls_json_array(j, "gil");
	while (v && (g = ls_htab_next(&a->gils, &pos)))
		json_gil(j, a, g, v, a->threads.nr);
	ls_json_end(j, ']');
	free(v);
}

static void json_phases(struct ls_json *j, const struct ls_phases *p)
{
	ls_json_array(j, "phases");
	for (size_t i = 0; i < p->nr; i++) {
		const struct ls_summary *s = &p->v[i].s;

		ls_json_object(j, NULL);
		ls_json_u64(j, "start_ns", p->v[i].start_ns);
		ls_json_u64(j, "end_ns", p->v[i].end_ns);
		ls_json_str(j, "verdict", ls_verdict_name(s->verdict));
		json_parallelism(j, s);
		json_states(j, "state_ns", s->state_ns);
		ls_json_double(j, "sync_wait_share_of_blocked", s->sync_wait_blocked);
		ls_json_double(j, "other_wait_share", s->other_wait_share);
		ls_json_u64(j, "handoffs", s->handoffs);
		ls_json_double(j, "handoffs_per_s", s->handoffs_per_s);
		ls_json_u64(j, "threads", s->threads);
		ls_json_u64(j, "turn_takers", s->turn_takers);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
}

/* Each process's Python stacks: read or why not, and what could not be attributed */
static void json_py_procs(struct ls_json *j, const struct ls_report *r)
{
	char version[16];

	ls_json_array(j, "python");
	for (size_t i = 0; r->py_procs[i]; i++) {
		const struct ls_pyproc *p = r->py_procs[i];
		double period = ls_py_sample_ns(r->a, p->tgid);

		ls_json_object(j, NULL);
		ls_json_u64(j, "pid", p->tgid);
		ls_json_bool(j, "available", p->have_status && !p->err);
		if (p->have_status)
			ls_json_i64(j, "error", p->err);
		else
			ls_json_null(j, "error");
		if (p->have_status && p->err)
			ls_json_str(j, "why", p->why);
		else
			ls_json_null(j, "why");
		snprintf(version, sizeof(version), "%u.%u.%u", p->hexversion >> 24,
			 (p->hexversion >> 16) & 0xff, (p->hexversion >> 8) & 0xff);
		if (p->hexversion)
			ls_json_str(j, "version", version);
		else
			ls_json_null(j, "version");
		if (p->sample_hz)
			ls_json_u64(j, "sample_hz", p->sample_hz);
		else
			ls_json_null(j, "sample_hz");
		ls_json_u64(j, "stacks", p->stacks);
		ls_json_u64(j, "samples", p->samples);
		ls_json_u64(j, "gil_held_samples", p->held_samples);
		ls_json_u64(j, "samples_unattributed", p->samples_unattributed);
		if (period > 0)
			ls_json_u64(j, "sample_ns", (__u64)(period + 0.5));
		else
			ls_json_null(j, "sample_ns");
		ls_json_u64(j, "gil_wait_ns", p->gil_wait_ns);
		ls_json_u64(j, "gil_wait_unattributed_ns", p->gil_wait_unattributed_ns);
		ls_json_u64(j, "blamed_wait_unknown_ns", p->blamed_unknown_ns);
		ls_json_u64(j, "functions", p->funcs);
		ls_json_u64(j, "functions_left_out", p->funcs_left_out);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
}

/* Every Python function, by process, then GIL-held samples */
static void json_py_funcs(struct ls_json *j, const struct ls_report *r)
{
	ls_json_array(j, "python_functions");
	for (size_t i = 0; r->py_by_held[i]; i++) {
		const struct ls_pyfunc *f = r->py_by_held[i];
		double period = ls_py_sample_ns(r->a, f->tgid);

		ls_json_object(j, NULL);
		ls_json_u64(j, "pid", f->tgid);
		ls_json_str(j, "function", f->name);
		ls_json_str(j, "file", f->file);
		ls_json_i64(j, "line", f->firstlineno);
		ls_json_u64(j, "samples", f->samples);
		ls_json_u64(j, "gil_held_samples", f->held_samples);
		if (period > 0) {
			ls_json_u64(j, "gil_held_ns", (__u64)(f->held_samples * period + 0.5));
			ls_json_u64(j, "gil_held_error_ns",
				    (__u64)(2 * sqrt(f->held_samples) * period + 0.5));
		} else {
			ls_json_null(j, "gil_held_ns");
			ls_json_null(j, "gil_held_error_ns");
		}
		ls_json_u64(j, "gil_waits", f->gil_waits);
		ls_json_u64(j, "gil_wait_ns", f->gil_wait_ns);
		ls_json_u64(j, "blamed_waits", f->blamed_waits);
		ls_json_u64(j, "blamed_wait_ns", f->blamed_wait_ns);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
}

/* Which Python line waits on which lock */
static void json_py_lines(struct ls_json *j, const struct ls_report *r)
{
	ls_json_array(j, "python_lock_waits");
	for (size_t i = 0; r->py_lines[i]; i++) {
		const struct ls_pyline *l = r->py_lines[i];
		const struct ls_pyfunc *f = ls_pyfunc_find(r->a, l->key.tgid, l->key.func);

		ls_json_object(j, NULL);
		ls_json_u64(j, "pid", l->key.tgid);
		ls_json_u64(j, "address", l->key.uaddr);
		ls_json_str(j, "lock", ls_report_lock_label(r, l->lock));
		if (f) {
			ls_json_str(j, "function", f->name);
			ls_json_str(j, "file", f->file);
			ls_json_i64(j, "line", l->key.line);
		} else {
			ls_json_null(j, "function");
			ls_json_null(j, "file");
			ls_json_null(j, "line");
		}
		ls_json_u64(j, "waits", l->waits);
		ls_json_u64(j, "wait_ns", l->wait_ns);
		ls_json_end(j, '}');
	}
	ls_json_end(j, ']');
}

void ls_render_json(FILE *out, const struct ls_report *r)
{
	const struct ls_analysis *a = r->a;
	struct ls_thread **threads;
	const struct ls_handoff *h;
	struct ls_json j;
	size_t pos = 0;

	ls_json_init(&j, out);
	ls_json_object(&j, NULL);
	ls_json_str(&j, "lockscope_version", LOCKSCOPE_VERSION);
	ls_json_u64(&j, "json_format", LS_JSON_FORMAT);
	ls_json_recording(&j, "recording", r);
	ls_json_summary(&j, "summary", r);
	json_phases(&j, r->phases);
	json_hist(&j, "runq_latency_ns", &a->runq);
	threads = ls_report_threads_by(r, cmp_tid);
	ls_json_array(&j, "threads");
	for (size_t i = 0; threads && threads[i]; i++)
		json_thread(&j, a, threads[i], &r->fold);
	ls_json_end(&j, ']');
	free(threads);
	json_folded(&j, &r->fold);
	ls_json_array(&j, "locks");
	for (size_t i = 0; r->locks[i]; i++)
		json_lock(&j, r, r->locks[i]);
	ls_json_end(&j, ']');
	json_gils(&j, r);
	json_py_procs(&j, r);
	json_py_funcs(&j, r);
	json_py_lines(&j, r);
	ls_json_array(&j, "handoffs");
	while ((h = ls_htab_next(&a->handoffs, &pos))) {
		ls_json_object(&j, NULL);
		ls_json_u64(&j, "pid", h->key.tgid);
		ls_json_u64(&j, "address", h->key.uaddr);
		ls_json_u64(&j, "from", h->key.from);
		ls_json_u64(&j, "to", h->key.to);
		ls_json_u64(&j, "count", h->count);
		ls_json_end(&j, '}');
	}
	ls_json_end(&j, ']');
	ls_json_end(&j, '}');
}
