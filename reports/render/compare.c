// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "compare.h"
#include "escape.h"
#include "render.h"
#include "render_json.h"
#include "version.h"

#define LABEL_W	       22
#define COL_W	       18
#define COLS_PER_TABLE 4 /* 22 + 4 * 19 columns stay within 100 */
#define PROFILE_MAX    4 /* busy 0..3, then "4+" folded in the last */

typedef void (*cell_fn)(char *buf, size_t len, const struct ls_report *r,
			const struct ls_summary *first);

static void c_wall(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;

	ls_fmt_duration(b, n, s->wall_ns);
}

static void c_cpu(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;

	ls_fmt_duration(b, n, s->cpu_ns);
}

static void c_profile(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;
	double p[PROFILE_MAX + 1] = { 0 };
	int len = 0;

	for (unsigned int i = 0; i <= s->profile_top; i++)
		p[i < PROFILE_MAX ? i : PROFILE_MAX] += s->profile[i];
	for (int i = 0; i <= PROFILE_MAX && len < (int)n; i++)
		if (i < 3 || p[i] > 0)
			len += snprintf(b + len, n - len, "%s%.0f", i ? "/" : "", p[i] * 100);
}

/* The interpreter whose GIL was held the most of the window, or handed over most. */
static const struct ls_gil *busiest_gil(const struct ls_analysis *a)
{
	const struct ls_gil *g, *best = NULL;
	double load, best_load = -1;
	size_t pos = 0;

	while ((g = ls_htab_next(&a->gils, &pos))) {
		struct ls_gil_load l = ls_gil_load(a, g);

		load = l.known ? l.load : 0;
		if (!best || load > best_load ||
		    (load == best_load && g->handoffs > best->handoffs)) {
			best = g;
			best_load = load;
		}
	}
	return best;
}

static void c_gil_load(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_analysis *a = r->a;
	const struct ls_gil *g = busiest_gil(a);
	struct ls_gil_load l = { 0 };

	if (g)
		l = ls_gil_load(a, g);
	if (l.known)
		snprintf(b, n, "%.0f%%%s", l.load * 100, l.sampled ? " (sampled)" : "");
	else
		snprintf(b, n, "%s", g ? "n/a" : "n/a (no GIL)");
}

static void c_gil_handoffs(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_analysis *a = r->a;
	const struct ls_gil *g = busiest_gil(a);
	double wall = (a->end_ns - a->start_ns) / 1e9;

	if (g && g->source != LS_GIL_SRC_DISABLED && wall > 0)
		snprintf(b, n, "%.0f%s", g->handoffs / wall,
			 g->source == LS_GIL_SRC_FUTEX ? " (inferred)" : "");
	else
		snprintf(b, n, "n/a");
}

static void c_other(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;

	if (s->other_measured)
		snprintf(b, n, "%.2f CPUs", s->other_cpus);
	else
		snprintf(b, n, "n/a");
}

static void c_top(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;

	if (s->top_lock)
		snprintf(b, n, "%s", ls_report_lock_label(r, s->top_lock));
	else
		snprintf(b, n, "-");
}

static void c_verdict(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;

	snprintf(b, n, "%s", ls_verdict_name(s->verdict));
}

static void c_speedup(char *b, size_t n, const struct ls_report *r, const struct ls_summary *f)
{
	const struct ls_summary *s = &r->summary;

	snprintf(b, n, "%.2fx", s->wall_ns ? (double)f->wall_ns / s->wall_ns : 0);
}

/* A row is its cell function, or a double of the summary printed with fmt, times scale. */
#define CELL(fn)	       fn, 0, NULL, 0
#define NUM(field, fmt, scale) NULL, offsetof(struct ls_summary, field), fmt, scale

static const struct {
	const char *label;
	cell_fn fn;
	size_t off;
	const char *fmt;
	double scale;
} rows[] = {
	{ "wall time", CELL(c_wall) },
	{ "CPU time", CELL(c_cpu) },
	{ "effective parallelism", NUM(parallelism, "%.2f CPUs", 1) },
	{ "ceiling", NUM(ceiling, "%.2f CPUs", 1) },
	{ "utilization", NUM(utilization, "%.0f%%", 100) },
	{ "other load (untraced)", CELL(c_other) },
	{ "busy 0/1/2/3+ (% wall)", CELL(c_profile) },
	{ "lock-wait share", NUM(lock_wait_share, "%.0f%%", 100) },
	{ "gil-wait share", NUM(gil_wait_share, "%.0f%%", 100) },
	{ "GIL load (busiest)", CELL(c_gil_load) },
	{ "GIL hand-offs/s", CELL(c_gil_handoffs) },
	{ "hand-offs/s", NUM(handoffs_per_s, "%.0f", 1) },
	{ "vol. switches/s", NUM(vol_per_s, "%.0f", 1) },
	{ "invol. switches/s", NUM(invol_per_s, "%.0f", 1) },
	{ "top lock", CELL(c_top) },
	{ "verdict", CELL(c_verdict) },
	{ "speed-up vs first", CELL(c_speedup) },
};

/* A file's base name, escaped: a file name can hold escape sequences too (4 at a time). */
static const char *base(const char *path)
{
	static char bufs[4][128];
	static int i;
	const char *s = strrchr(path, '/');

	i = (i + 1) % 4;
	return ls_escape(bufs[i], sizeof(bufs[i]), s ? s + 1 : path);
}

static void table(FILE *out, const struct ls_report *r, int from, int to)
{
	char buf[64];

	fprintf(out, "  %-*s", LABEL_W, "");
	for (int i = from; i < to; i++)
		fprintf(out, " %-*.*s", i + 1 < to ? COL_W : 0, COL_W, base(r[i].path));
	fputc('\n', out);
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		fprintf(out, "  %-*s", LABEL_W, rows[k].label);
		for (int i = from; i < to; i++) {
			if (rows[k].fn) {
				rows[k].fn(buf, sizeof(buf), &r[i], &r[0].summary);
			} else {
				double v;

				memcpy(&v, (const char *)&r[i].summary + rows[k].off, sizeof(v));
				snprintf(buf, sizeof(buf), rows[k].fmt, v * rows[k].scale);
			}
			fprintf(out, " %-*.*s", i + 1 < to ? COL_W : 0, COL_W, buf);
		}
		fputc('\n', out);
	}
}

/* One line per notable recording: which one is serialized, which one parallel, and by how much. */
static void conclusion(FILE *out, const struct ls_report *r, int n)
{
	int ser = -1, par = -1;
	const struct ls_summary *s[LS_COMPARE_MAX];

	for (int i = 0; i < n && i < LS_COMPARE_MAX; i++)
		s[i] = &r[i].summary;

	for (int i = 0; i < n; i++) {
		if (s[i]->verdict == LS_VERDICT_SERIALIZED && ser < 0)
			ser = i;
		if (s[i]->verdict == LS_VERDICT_PARALLEL &&
		    (par < 0 || s[i]->parallelism > s[par]->parallelism))
			par = i;
	}
	fputc('\n', out);
	if (ser >= 0)
		fprintf(out,
			"  %s: SERIALIZED, %.2f CPUs busy, blocked %.0f%% in lock or GIL waits, "
			"%.0f hand-offs/s\n",
			base(r[ser].path), s[ser]->parallelism, s[ser]->sync_wait_blocked * 100,
			s[ser]->handoffs_per_s);
	if (par >= 0 && ser >= 0)
		fprintf(out,
			"  %s: PARALLEL, %.2f CPUs busy, %.1fx as many, done in %.2fx the time.\n",
			base(r[par].path), s[par]->parallelism,
			s[ser]->parallelism > 0 ? s[par]->parallelism / s[ser]->parallelism : 0,
			s[ser]->wall_ns ? (double)s[par]->wall_ns / s[ser]->wall_ns : 0);
	else if (par >= 0)
		fprintf(out, "  %s: PARALLEL, %.2f CPUs busy (utilization %.0f%%).\n",
			base(r[par].path), s[par]->parallelism, s[par]->utilization * 100);
	for (int i = 0; i < n; i++)
		if (i != ser && i != par)
			fprintf(out,
				"  %s: %s, %.2f CPUs busy; lock waits %.0f%%, other waits %.0f%% "
				"of "
				"thread time.\n",
				base(r[i].path), ls_verdict_title(s[i]->verdict), s[i]->parallelism,
				(s[i]->lock_wait_share + s[i]->gil_wait_share) * 100,
				s[i]->other_wait_share * 100);
}

void ls_compare_text(FILE *out, const struct ls_report *r, int n)
{
	fprintf(out, "lockscope compare\n");
	for (int i = 0; i < n; i++)
		fprintf(out, "  %-18.18s %.76s\n", base(r[i].path), r[i].a->cmdline);
	for (int from = 0; from < n; from += COLS_PER_TABLE) {
		fputc('\n', out);
		table(out, r, from, from + COLS_PER_TABLE < n ? from + COLS_PER_TABLE : n);
	}
	conclusion(out, r, n);
}

void ls_compare_json(FILE *out, const struct ls_report *r, int n)
{
	struct ls_json j;

	ls_json_init(&j, out);
	ls_json_object(&j, NULL);
	ls_json_str(&j, "lockscope_version", LOCKSCOPE_VERSION);
	ls_json_u64(&j, "json_format", LS_JSON_FORMAT);
	ls_json_array(&j, "recordings");
	for (int i = 0; i < n; i++) {
		const struct ls_summary *s = &r[i].summary;

		ls_json_object(&j, NULL);
		ls_json_recording(&j, "recording", &r[i]);
		ls_json_summary(&j, "summary", &r[i]);
		ls_json_double(&j, "speedup_vs_first",
			       s->wall_ns ? (double)r[0].summary.wall_ns / s->wall_ns : 0);
		ls_json_end(&j, '}');
	}
	ls_json_end(&j, ']');
	ls_json_end(&j, '}');
}
