// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lockscope top off a terminal: a summary line per interval, or a JSON object per line. */
#include <stdio.h>
#include <time.h>
#include "json.h"
#include "lines.h"

static void clock_text(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
}

void ls_top_line(FILE *out, const struct ls_top_model *m)
{
	const struct ls_summary *s = &m->s;
	const struct ls_top_gil_row *g = m->gil;
	char when[40];

	clock_text(when, sizeof(when));
	fprintf(out,
		"%s +%.1fs pid %u: parallelism %.2f of %d CPUs, %s; %u threads: running %.2f "
		"runnable %.2f lock %.2f gil %.2f other %.2f; switches %.0f/s",
		when, m->elapsed_s, m->iv->target, s->parallelism, m->iv->nr_cpus,
		ls_verdict_name(s->verdict), s->threads,
		s->state_ns[LS_TOP_RUNNING] / 1e9 / m->wall_s,
		s->state_ns[LS_TOP_RUNNABLE] / 1e9 / m->wall_s,
		s->state_ns[LS_TOP_LOCK] / 1e9 / m->wall_s,
		s->state_ns[LS_TOP_GIL] / 1e9 / m->wall_s,
		s->state_ns[LS_TOP_OTHER] / 1e9 / m->wall_s, s->vol_per_s + s->invol_per_s);
	if (g) {
		fprintf(out, "; GIL load %.0f%%", g->load * 100);
		if (g->handoffs_known)
			fprintf(out, " %.0f hand-offs/s", g->handoffs / m->wall_s);
		fprintf(out, " %llu forced", (unsigned long long)g->forced);
		if (g->samples && g->func[0])
			fprintf(out, ", held most in %s (%.0f%% of %llu samples)", g->func,
				100.0 * g->func_samples / g->samples,
				(unsigned long long)g->samples);
	}
	if (m->nr_locks && m->locks[0].r->blocked)
		fprintf(out, "; top lock %s: %.0f waits/s, p99 <= %.3f ms", m->locks[0].name,
			m->locks[0].waits_per_s, m->locks[0].p99_ns / 1e6);
	if (m->iv->other_measured)
		fprintf(out, "; other load %.2f CPUs", m->iv->other_cpus);
	fputc('\n', out);
	fflush(out);
}

void ls_top_json(FILE *out, const struct ls_top_model *m)
{
	const struct ls_top_interval *iv = m->iv;
	const struct ls_summary *s = &m->s;
	const struct ls_top_gil_row *g = m->gil;
	static const char *const full[LS_TOP_NR_MAPS] = { "threads", "locks", "gils" };
	struct ls_json j;
	char when[40];

	clock_text(when, sizeof(when));
	ls_json_init(&j, out);
	j.compact = true;
	ls_json_object(&j, NULL);
	ls_json_u64(&j, "top_format", 1);
	ls_json_str(&j, "time", when);
	ls_json_double(&j, "elapsed_s", m->elapsed_s);
	ls_json_double(&j, "interval_s", m->wall_s);
	ls_json_u64(&j, "start_ns", iv->start_ns);
	ls_json_u64(&j, "end_ns", iv->end_ns);
	ls_json_u64(&j, "target", iv->target);
	ls_json_i64(&j, "cpus", iv->nr_cpus);
	if (iv->other_measured)
		ls_json_double(&j, "other_cpus", iv->other_cpus);
	else
		ls_json_null(&j, "other_cpus");
	ls_json_double(&j, "parallelism", s->parallelism);
	ls_json_str(&j, "verdict", ls_verdict_name(s->verdict));
	ls_json_u64(&j, "threads_alive", s->threads);
	ls_json_object(&j, "state_s");
	for (int k = 0; k < LS_TOP_NR_STATES; k++)
		ls_json_double(&j, ls_top_state_name(k), s->state_ns[k] / 1e9);
	ls_json_end(&j, '}');
	ls_json_u64(&j, "voluntary_switches", s->vol_switches);
	ls_json_u64(&j, "involuntary_switches", s->invol_switches);
	ls_json_u64(&j, "handoffs", s->handoffs);
	if (g) {
		ls_json_object(&j, "gil");
		ls_json_u64(&j, "pid", g->tgid);
		ls_json_double(&j, "load", g->load);
		if (g->handoffs_known)
			ls_json_u64(&j, "handoffs", g->handoffs);
		else
			ls_json_null(&j, "handoffs");
		ls_json_u64(&j, "forced_switches", g->forced);
		ls_json_u64(&j, "timeouts", g->timeouts);
		ls_json_u64(&j, "waits", g->waits);
		ls_json_double(&j, "wait_s", g->wait_ns / 1e9);
		ls_json_u64(&j, "held_samples", g->samples);
		if (g->func[0]) {
			ls_json_str(&j, "top_function", g->func);
			ls_json_u64(&j, "top_function_samples", g->func_samples);
		} else {
			ls_json_null(&j, "top_function");
		}
		ls_json_end(&j, '}');
	} else {
		ls_json_null(&j, "gil");
	}
	ls_json_array(&j, "threads");
	for (size_t i = 0; i < m->nr_threads; i++) {
		const struct ls_top_thread_row *r = m->threads[i].r;

		ls_json_object(&j, NULL);
		ls_json_u64(&j, "tid", r->tid);
		ls_json_u64(&j, "pid", r->tgid);
		ls_json_str(&j, "comm", r->comm);
		for (int k = 0; k < LS_TOP_NR_STATES; k++) {
			char key[24];

			snprintf(key, sizeof(key), "%s_s", ls_top_state_name(k));
			ls_json_double(&j, key, r->state_ns[k] / 1e9);
		}
		ls_json_u64(&j, "voluntary_switches", r->vol);
		ls_json_u64(&j, "involuntary_switches", r->invol);
		ls_json_u64(&j, "turns", r->turns);
		ls_json_bool(&j, "exited", r->exited);
		ls_json_end(&j, '}');
	}
	ls_json_end(&j, ']');
	ls_json_array(&j, "locks");
	for (size_t i = 0; i < m->nr_locks; i++) {
		const struct ls_top_lock_view *v = &m->locks[i];

		ls_json_object(&j, NULL);
		ls_json_u64(&j, "pid", v->r->tgid);
		ls_json_u64(&j, "addr", v->r->uaddr);
		ls_json_str(&j, "name", v->name);
		ls_json_u64(&j, "waits", v->r->waits);
		ls_json_u64(&j, "blocked", v->r->blocked);
		ls_json_double(&j, "wait_s", v->r->wait_ns / 1e9);
		ls_json_u64(&j, "p99_ns", v->p99_ns);
		ls_json_u64(&j, "timed_out", v->r->timedout);
		ls_json_u64(&j, "handoffs", v->r->handoffs);
		ls_json_end(&j, '}');
	}
	ls_json_end(&j, ']');
	ls_json_object(&j, "full");
	for (int k = 0; k < LS_TOP_NR_MAPS; k++)
		ls_json_u64(&j, full[k], iv->full[k]);
	ls_json_end(&j, '}');
	ls_json_u64(&j, "lost_records", iv->lost);
	ls_json_end(&j, '}');
	fflush(out);
}
