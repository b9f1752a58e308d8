// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The text report: header, verdict, parallelism, threads, locks, timeline. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "escape.h"
#include "render.h"
#include "sites.h"
#include "summary.h"

#define TL_COLS 80 /* timeline columns; with the lane label a line stays within 100 */

static const char state_chars[LS_ST_NR] = { '#', '+', 'L', 'G', '.' };

const char *ls_fmt_duration(char *buf, size_t len, __u64 ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", ns / 1e9);
	return buf;
}

static int cmp_thread(const void *pa, const void *pb)
{
	const struct ls_thread *x = *(const struct ls_thread *const *)pa;
	const struct ls_thread *y = *(const struct ls_thread *const *)pb;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static const char *fmt_status(char *buf, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with status 0x%x", status);
	return buf;
}

/* round(x), kept within [0, max] before the conversion: figures from a damaged file can be huge */
static int cells(double x, int max)
{
	return !(x > 0) ? 0 : x >= max ? max : (int)(x + 0.5);
}

static void bar(FILE *out, double frac, int width, char c)
{
	int n = cells(frac * width, width);

	fputc('|', out);
	for (int i = 0; i < width; i++)
		fputc(i < n ? c : ' ', out);
	fputc('|', out);
}

static void render_header(FILE *out, const struct ls_report *r, const struct ls_render_opts *o)
{
	const struct ls_analysis *a = r->a;
	static const char *const reasons[] = { [LS_STOP_EXITED] = "the workload exited",
					       [LS_STOP_DURATION] = "the duration elapsed",
					       [LS_STOP_SIGNAL] = "a signal" };
	time_t t = a->hdr.start_real_ns / 1000000000ULL;
	char when[64], st[96], path[256];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
	fprintf(out, "lockscope report: %s\n", ls_escape(path, sizeof(path), r->path ?: "-"));
	fprintf(out, "  %-9s %.88s\n",
		a->hdr.mode == LS_MODE_PID ? "pid:" : "command:", a->cmdline);
	if (a->hdr.mode == LS_MODE_PID)
		fprintf(out, "  %-9s %u\n", "target:", a->hdr.target_pid);
	fprintf(out, "  %-9s %s from %s\n",
		"window:", ls_fmt_duration(st, sizeof(st), a->end_ns - a->start_ns), when);
	fprintf(out, "  %-9s Linux %s, %u CPUs, lockscope %s\n", "system:", a->hdr.kernel,
		a->hdr.nr_cpus, a->hdr.tool_version);
	fprintf(out, "  %-9s %llu, %llu lost\n", "records:", (unsigned long long)a->nr_records,
		(unsigned long long)a->nr_lost);
	if (r->summary.other_measured)
		fprintf(out,
			"  %-9s %.2f CPUs busy with untraced tasks (the machine's other load), on "
			"average\n",
			"other:", r->summary.other_cpus);
	if (a->complete) {
		unsigned int r = a->end.stop_reason;

		fprintf(out, "  %-9s by %s", "stopped:",
			r < sizeof(reasons) / sizeof(reasons[0]) && reasons[r] ? reasons[r] : "?");
		if (a->hdr.mode == LS_MODE_LAUNCH && a->end.exit_status >= 0)
			fprintf(out, "; the command %s",
				fmt_status(st, sizeof(st), a->end.exit_status));
		fputc('\n', out);
	}
	if (!a->complete)
		fprintf(out,
			"\n  WARNING: TRUNCATED: %s.\n  The figures cover the part of the "
			"recording before the cut.\n",
			a->status);
	if (a->nr_lost)
		fprintf(out,
			"\n  WARNING: %llu records were LOST on %u CPU(s): the ring buffer was "
			"full.\n  Switch counts, state times, waits and hand-offs may be low or "
			"misattributed;\n  record again with a larger -b.\n",
			(unsigned long long)a->nr_lost, a->nr_lost_cpus);
	if (a->nr_maps_failed)
		fprintf(out,
			"\n  WARNING: %llu memory map snapshot(s) could NOT be read (the first: "
			"PID %u, "
			"%s).\n  Locks of those processes may be unnamed, or named from an older "
			"map.\n",
			(unsigned long long)a->nr_maps_failed, a->maps_failed_tgid,
			strerror(a->maps_failed_err));
	if (a->too_many_threads)
		fprintf(out,
			"\n  WARNING: more than %d threads: the %llu records of the others were "
			"left "
			"out.\n  The figures cover the first %d threads seen.\n",
			LS_THREADS_MAX, (unsigned long long)a->records_left_out, LS_THREADS_MAX);
	if (a->locks_folded)
		fprintf(out,
			"\n  NOTE: more than %d locks: those seen after the first %d are counted "
			"together\n  as \"(other locks)\".\n",
			LS_LOCKS_MAX, LS_LOCKS_MAX);
	if (a->pairs_left_out)
		fprintf(out,
			"\n  NOTE: more than %d thread-lock pairs, hand-off pairs or wait sites: "
			"the "
			"others\n  are counted in each lock's totals but not itemized (top lock "
			"per "
			"thread,\n  hand-off matrix, call sites).\n",
			LS_PAIRS_MAX);
	if (a->gils_left_out)
		fprintf(out,
			"\n  NOTE: more than %d CPython interpreters: the others were not "
			"followed.\n",
			LS_GILS_MAX);
}

/* Listed when there are two or more: one verdict for the window would hide the one that matters */
static void render_phases(FILE *out, const struct ls_analysis *a, const struct ls_phases *p)
{
	char b1[32], b2[32];

	if (p->nr < 2)
		return;
	fprintf(out,
		"\nPHASES (the window split where the behaviour changed; times from its start)\n");
	fprintf(out, "  %-10s %-10s %-11s %5s %8s %8s %10s\n", "FROM", "TO", "VERDICT", "CPUs",
		"CEILING", "SYNC", "HANDOFFS/s");
	for (size_t i = 0; i < p->nr; i++) {
		const struct ls_phase *ph = &p->v[i];

		fprintf(out, "  %-10s %-10s %-11s %5.2f %8.2f %7.0f%% %10.0f\n",
			ls_fmt_duration(b1, sizeof(b1), ph->start_ns - a->start_ns),
			ls_fmt_duration(b2, sizeof(b2), ph->end_ns - a->start_ns),
			ls_verdict_name(ph->s.verdict), ph->s.parallelism, ph->s.ceiling,
			ph->s.sync_wait_blocked * 100, ph->s.handoffs_per_s);
	}
	fprintf(out, "  SYNC: lock and GIL waits, of the time threads were blocked\n");
}

static void render_parallelism(FILE *out, const struct ls_analysis *a, const struct ls_summary *s,
			       const struct ls_phases *p)
{
	char b1[32], b2[32];

	fprintf(out, "\nVERDICT\n");
	ls_verdict_explain(out, s, "  ");
	if (p)
		render_phases(out, a, p);
	fprintf(out, "\nPARALLELISM\n");
	fprintf(out, "  effective parallelism %6.2f CPUs  (on-CPU time %s over %s of wall time)\n",
		s->parallelism, ls_fmt_duration(b1, sizeof(b1), s->cpu_ns),
		ls_fmt_duration(b2, sizeof(b2), s->wall_ns));
	fprintf(out,
		"  ceiling               %6.2f CPUs  (min(threads alive, %u CPUs), averaged)\n",
		s->ceiling, a->hdr.nr_cpus);
	fprintf(out, "  utilization           %5.0f%%\n", s->utilization * 100);
	fprintf(out, "  concurrency profile: share of wall time with N threads on a CPU\n");
	for (unsigned int i = 0; i <= s->profile_top; i++) {
		fprintf(out, "  %4u%s %6.1f%%  ", i, i == LS_BUSY_MAX ? "+" : " ",
			s->profile[i] * 100);
		bar(out, s->profile[i], 60, '*');
		fputc('\n', out);
	}
}

/* A 20-character bar: each state's share of the lifetime, in its character. */
static void state_bar(char *buf, const __u64 *state_ns, __u64 life)
{
	int pos = 0;

	for (int s = 0; s < LS_ST_NR && life; s++) {
		int n = cells((double)state_ns[s] * 20 / life, 20);

		while (n-- > 0 && pos < 20)
			buf[pos++] = state_chars[s];
	}
	while (pos < 20)
		buf[pos++] = ' ';
	buf[20] = '\0';
}

static void thread_row(FILE *out, const struct ls_analysis *a, const char *id, const char *comm,
		       const __u64 *state_ns, __u64 life, __u64 vol, __u64 invol, const char *lock)
{
	double wall = (a->end_ns - a->start_ns) / 1e9;
	char sbar[21], cols[LS_ST_NR][8];

	for (int s = 0; s < LS_ST_NR; s++)
		snprintf(cols[s], sizeof(cols[s]), "%.0f", life ? state_ns[s] * 100.0 / life : 0);
	state_bar(sbar, state_ns, life);
	fprintf(out, "  %-9s %-12.12s %4s %4s %4s %4s %4s %s %7.0f %7.0f %-.12s\n", id, comm,
		cols[LS_ST_RUNNING], cols[LS_ST_RUNNABLE], cols[LS_ST_LOCK_WAIT],
		cols[LS_ST_GIL_WAIT], cols[LS_ST_OTHER_WAIT], sbar, wall > 0 ? vol / wall : 0,
		wall > 0 ? invol / wall : 0, lock);
}

/*
 * The folded processes in one line of at most 100 bytes:
 * "(38 short-lived processes folded: bash ×33, readlink ×5; 0.200 s on CPU)"
 */
static void render_folded_row(FILE *out, const struct ls_fold *f)
{
	char line[128], tail[64], item[48], b[32];
	size_t len, tail_len, i;

	len = snprintf(line, sizeof(line), "  (%u short-lived process%s folded:", f->processes,
		       f->processes == 1 ? "" : "es");
	tail_len = snprintf(tail, sizeof(tail), "; %s on CPU)",
			    ls_fmt_duration(b, sizeof(b), f->cpu_ns));
	for (i = 0; i < f->nr_groups; i++) {
		size_t left = f->nr_groups - i - 1, n;
		/* room for this command, for saying how many more there are, and for the tail */
		size_t more = left ? (size_t)snprintf(NULL, 0, ", %zu more commands", left) : 0;

		n = snprintf(item, sizeof(item), "%s %s \u00d7%u", i ? "," : "", f->groups[i].comm,
			     f->groups[i].processes);
		if (len + n + more + tail_len > 100)
			break;
		memcpy(line + len, item, n + 1);
		len += n;
	}
	if (i < f->nr_groups)
		snprintf(line + len, sizeof(line) - len, "%s %zu %scommand%s", i ? "," : "",
			 f->nr_groups - i, i ? "more " : "", f->nr_groups - i == 1 ? "" : "s");
	fprintf(out, "%s%s\n", line, tail);
}

/* By process, the processes of fold left out and shown together in one line at the end. */
static void render_threads(FILE *out, const struct ls_report *r)
{
	const struct ls_analysis *a = r->a;
	const struct ls_fold *fold = &r->fold;
	struct ls_thread **v = ls_report_threads_by(r, cmp_thread);
	size_t n = a->threads.nr;

	fprintf(out,
		"\nTHREADS (%% of each thread's lifetime in the window; switches per second)\n");
	fprintf(out, "  %-9s %-12s %4s %4s %4s %4s %4s %-20s %7s %7s %s\n", "PID/TID", "COMM",
		"RUN", "RUNQ", "LOCK", "GIL", "OTHR", "# run + runq L lock", "VOL/s", "INVOL/s",
		"TOP LOCK");
	if (!v)
		return;
	for (size_t i = 0; i < n;) {
		__u64 states[LS_ST_NR] = { 0 }, life = 0, vol = 0, invol = 0;
		const struct ls_thread *leader = v[i];
		char id[16];
		size_t j;

		if (ls_fold_has(fold, v[i]->tgid)) {
			while (i < n && v[i]->tgid == leader->tgid)
				i++;
			continue;
		}
		for (j = i; j < n && v[j]->tgid == v[i]->tgid; j++) {
			for (int s = 0; s < LS_ST_NR; s++)
				states[s] += v[j]->state_ns[s];
			life += ls_thread_lifetime(a, v[j]);
			vol += v[j]->vol_switches;
			invol += v[j]->invol_switches;
			if (v[j]->tid == v[j]->tgid)
				leader = v[j];
		}
		if (j - i > 1) {
			snprintf(id, sizeof(id), "%u", v[i]->tgid);
			thread_row(out, a, id, leader->comm, states, life, vol, invol, "(process)");
		}
		for (; i < j; i++) {
			const struct ls_lock *l = v[i]->top_lock;

			snprintf(id, sizeof(id), "%s%u",
				 j - i > 1 || v[i]->tid != v[i]->tgid ? " " : "", v[i]->tid);
			thread_row(out, a, id, v[i]->comm, v[i]->state_ns,
				   ls_thread_lifetime(a, v[i]), v[i]->vol_switches,
				   v[i]->invol_switches, l ? ls_report_lock_label(r, l) : "-");
		}
	}
	if (fold->processes)
		render_folded_row(out, fold);
	free(v);
}

static const char *fmt_hist(char *buf, size_t len, const struct ls_hist *h, double q)
{
	if (!h->count)
		return "-";
	return ls_fmt_duration(buf, len, q < 0 ? ls_hist_mean(h) : ls_hist_quantile(h, q));
}

/* Who woke whom on lock l, three pairs a line, at most 64 pairs. */
static void render_handoff_matrix(FILE *out, const struct ls_analysis *a, const struct ls_lock *l)
{
	const struct ls_handoff *h;
	int shown = 0;
	size_t pos = 0;

	fprintf(out, "    hand-off matrix (from -> to: count)\n");
	while ((h = ls_htab_next(&a->handoffs, &pos)) && shown < 64) {
		if (h->key.tgid != l->key.tgid || h->key.uaddr != l->key.uaddr)
			continue;
		fprintf(out, "%s%7u -> %-7u %8llu", shown % 3 ? "  " : "      ", h->key.from,
			h->key.to, (unsigned long long)h->count);
		if (++shown % 3 == 0)
			fputc('\n', out);
	}
	if (shown % 3)
		fputc('\n', out);
}

#define CALL_SITES_SHOWN 5

static void render_stack(FILE *out, const struct ls_analysis *a, __u32 tgid, __u32 id)
{
	struct ls_stack_entry *s = ls_stack_find(a, tgid, id);
	char buf[128];

	for (int i = 0; s && i < s->nr; i++)
		fprintf(out, "          %.88s\n",
			ls_frame_name(a, tgid, s->ips[i], buf, sizeof(buf)));
}

/* Where the waits on l come from: plockstat's "caller", and with --stacks the whole stack. */
static void render_call_sites(FILE *out, const struct ls_analysis *a, const struct ls_lock *l,
			      bool stacks)
{
	struct ls_call_site sites[CALL_SITES_SHOWN];
	size_t n = ls_lock_call_sites(a, l, sites, CALL_SITES_SHOWN);
	char name[128], b[32];

	fprintf(out,
		"    waiting call sites (first frame outside libc; blocked wait, share, waits)\n");
	for (size_t i = 0; i < n; i++) {
		if (sites[i].ip)
			ls_frame_name(a, l->key.tgid, sites[i].ip, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s",
				 sites[i].stack_id ? "[libc only]" : "[no stack]");
		fprintf(out, "      %-60.60s %10s %5.1f%% %8llu\n", name,
			ls_fmt_duration(b, sizeof(b), sites[i].wait_ns),
			l->wait.total ? 100.0 * sites[i].wait_ns / l->wait.total : 0,
			(unsigned long long)sites[i].waits);
		if (stacks && sites[i].stack_id) {
			fprintf(out, "        its top stack (%s):\n",
				ls_fmt_duration(b, sizeof(b), sites[i].stack_wait_ns));
			render_stack(out, a, l->key.tgid, sites[i].stack_id);
		}
	}
}

static void render_lock_detail(FILE *out, const struct ls_report *r, const struct ls_lock *l,
			       bool matrix, bool stacks)
{
	const struct ls_analysis *a = r->a;
	char b[4][32];

	if (ls_lock_is_others(l))
		fprintf(out, "\n  %s (beyond the first %d), %s\n", ls_report_lock_label(r, l),
			LS_LOCKS_MAX, ls_lock_is_mutex(l) ? "mutex" : "condition/other");
	else
		fprintf(out, "\n  %s (pid %u, 0x%llx), %s\n", ls_report_lock_label(r, l),
			l->key.tgid, (unsigned long long)l->key.uaddr,
			ls_lock_is_mutex(l) ? "mutex" : "condition/other");
	fprintf(out,
		"    waits %llu: woken %llu, timed out %llu, no block %llu, interrupted %llu, "
		"error %llu\n",
		(unsigned long long)l->waits, (unsigned long long)l->outcomes[LS_OUT_WOKEN],
		(unsigned long long)l->outcomes[LS_OUT_TIMEDOUT],
		(unsigned long long)l->outcomes[LS_OUT_NOBLOCK],
		(unsigned long long)l->outcomes[LS_OUT_INTR],
		(unsigned long long)l->outcomes[LS_OUT_ERROR]);
	fprintf(out, "    wait (blocked waits): mean %s, p50 %s, p99 %s, max %s\n",
		fmt_hist(b[0], 32, &l->wait, -1), fmt_hist(b[1], 32, &l->wait, 0.5),
		fmt_hist(b[2], 32, &l->wait, 0.99), ls_fmt_duration(b[3], 32, l->wait.max));
	if (ls_lock_is_mutex(l) && l->hold.count)
		fprintf(out,
			"    hold (inferred, %llu contended acquisitions): mean %s, p50 %s, p99 "
			"%s\n",
			(unsigned long long)l->hold.count, fmt_hist(b[0], 32, &l->hold, -1),
			fmt_hist(b[1], 32, &l->hold, 0.5), fmt_hist(b[2], 32, &l->hold, 0.99));
	else if (ls_lock_is_mutex(l))
		fprintf(out,
			"    hold: unknown (no contended acquisition was followed by a wake)\n");
	if (l->handoffs)
		fprintf(out, "    hand-offs %llu, latency to run: p50 %s, p99 %s\n",
			(unsigned long long)l->handoffs,
			fmt_hist(b[0], 32, &l->handoff_latency, 0.5),
			fmt_hist(b[1], 32, &l->handoff_latency, 0.99));
	if (l->wait.count) {
		fprintf(out, "    wait time histogram:\n");
		ls_hist_print_log2(out, &l->wait, "    ", 1000, "usecs");
	}
	if (matrix && l->handoffs)
		render_handoff_matrix(out, a, l);
	if (a->has_stacks)
		render_call_sites(out, a, l, stacks);
}

static void render_locks(FILE *out, const struct ls_report *r, unsigned int top, bool stacks)
{
	struct ls_lock **v = r->locks;
	size_t n = r->a->locks.nr;
	char b[3][32];

	fprintf(out, "\nLOCKS (futex words by total blocked wait; top %u of %zu)\n", top, n);
	if (!n) {
		fprintf(out, "  no futex traffic: every lock was taken without contention, so no "
			     "wait or hold time is known\n");
		return;
	}
	fprintf(out, "  %-24s %-5s %8s %10s %9s %7s %7s %9s %8s\n", "LOCK", "KIND", "WAITS",
		"TOTAL WAIT", "P99 WAIT", "TIMEOUT", "NOBLOCK", "HOLD p50*", "HANDOFFS");
	for (size_t i = 0; i < n && i < top; i++) {
		const struct ls_lock *l = v[i];

		fprintf(out, "  %-24.24s %-5s %8llu %10s %9s %7llu %7llu %9s %8llu\n",
			ls_report_lock_label(r, l), ls_lock_is_mutex(l) ? "mutex" : "other",
			(unsigned long long)l->waits, ls_fmt_duration(b[0], 32, l->wait.total),
			fmt_hist(b[1], 32, &l->wait, 0.99),
			(unsigned long long)l->outcomes[LS_OUT_TIMEDOUT],
			(unsigned long long)l->outcomes[LS_OUT_NOBLOCK],
			ls_lock_is_mutex(l) ? fmt_hist(b[2], 32, &l->hold, 0.5) : "n/a",
			(unsigned long long)l->handoffs);
	}
	fprintf(out,
		"  * hold times are inferred from futex traffic, for contended acquisitions of "
		"mutex-kind words\n");
	for (size_t i = 0; i < n && i < 3 && v[i]->wait.count; i++)
		render_lock_detail(out, r, v[i], i == 0, stacks);
}

/* by process, then GIL hold and wait */
static int cmp_thread_gil_hold(const void *pa, const void *pb)
{
	const struct ls_thread *x = *(const struct ls_thread *const *)pa;
	const struct ls_thread *y = *(const struct ls_thread *const *)pb;
	__u64 xh = x->gil ? x->gil->hold_ns + x->gil->wait_ns : 0;
	__u64 yh = y->gil ? y->gil->hold_ns + y->gil->wait_ns : 0;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	if (xh != yh)
		return xh > yh ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The first of the threads v (n of them, sorted by process first) of process tgid. */
size_t ls_threads_of(struct ls_thread *const *v, size_t n, __u32 tgid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid]->tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* v: the threads sorted by process, then GIL hold, each process's found by a binary search */
static void render_gil(FILE *out, const struct ls_analysis *a, const struct ls_gil *g,
		       struct ls_thread *const *v, size_t n)
{
	double wall = (a->end_ns - a->start_ns) / 1e9;
	bool probes = g->source == LS_GIL_SRC_PROBES;
	struct ls_gil_load load = ls_gil_load(a, g);
	char b[5][32];

	fprintf(out, "\nGIL (CPython %u.%u.%u, pid %u, at 0x%llx): %s\n", g->version >> 16,
		(g->version >> 8) & 0xff, g->version & 0xff, g->tgid, (unsigned long long)g->addr,
		probes ? "from take_gil/drop_gil probes, exact"
		: g->source == LS_GIL_SRC_DISABLED
			? "free-threaded build, GIL disabled"
			: "INFERRED from the futex traffic on its words");
	if (g->source == LS_GIL_SRC_DISABLED) {
		fprintf(out, "  GIL load n/a, acquisitions n/a, hand-offs n/a: there is no GIL\n");
		return;
	}
	fprintf(out, "  switch interval %s", ls_fmt_duration(b[0], 32, g->interval_us * 1000ULL));
	if (!load.known)
		fprintf(out, "; GIL load n/a (no sample of its threads on a CPU)\n");
	else if (!load.sampled)
		fprintf(out, "; GIL load %.1f%% (some thread held it)\n", load.load * 100);
	else
		fprintf(out,
			"; GIL load %.1f%% +-%.1f (sampled: %llu samples of its threads on a "
			"CPU\n  cover %.0f%% of the %s it was followed; the rest, while none ran, "
			"is exact)\n",
			load.load * 100, load.err * 100, (unsigned long long)g->samples,
			load.sampled_share * 100,
			ls_fmt_duration(b[0], 32, (__u64)load.covered_ns));
	fprintf(out, "  acquisitions %llu%s, hand-offs %llu (%.0f/s)",
		(unsigned long long)g->acquisitions, probes ? "" : " (contended only)",
		(unsigned long long)g->handoffs, wall > 0 ? g->handoffs / wall : 0);
	if (g->have_start && g->have_end)
		fprintf(out, ", CPython's switch_number moved by %llu",
			(unsigned long long)(g->switch_number_end - g->switch_number_start));
	fprintf(out, "\n  forced switches %llu%s\n", (unsigned long long)g->forced,
		probes ? " (drops after a waiter timed out)"
		       : " (inferred: takes after a timeout)");
	fprintf(out, "  wait for the GIL: mean %s, p50 %s, p99 %s, max %s\n",
		fmt_hist(b[0], 32, &g->wait, -1), fmt_hist(b[1], 32, &g->wait, 0.5),
		fmt_hist(b[2], 32, &g->wait, 0.99), fmt_hist(b[3], 32, &g->wait, 1));
	fprintf(out, "  hold%s: mean %s, p50 %s, p99 %s, max %s\n", probes ? "" : " (inferred)",
		fmt_hist(b[0], 32, &g->hold, -1), fmt_hist(b[1], 32, &g->hold, 0.5),
		fmt_hist(b[2], 32, &g->hold, 0.99), fmt_hist(b[3], 32, &g->hold, 1));
	if (probes && g->handoff_latency.count)
		fprintf(out, "  hand-off latency (drop to take): p50 %s, p99 %s\n",
			fmt_hist(b[0], 32, &g->handoff_latency, 0.5),
			fmt_hist(b[1], 32, &g->handoff_latency, 0.99));
	fprintf(out, "  %-9s %-12s %10s %8s %10s %10s %10s\n", "TID", "COMM", "HELD", "SHARE",
		"TAKES", "WAITED", "WAIT p99");
	for (size_t i = ls_threads_of(v, n, g->tgid); i < n && v[i]->tgid == g->tgid; i++) {
		const struct ls_thread_gil *tg = v[i]->gil;

		if (!tg)
			continue;
		fprintf(out, "  %-9u %-12.12s %10s %7.1f%% %10llu %10s %10s\n", v[i]->tid,
			v[i]->comm, probes ? ls_fmt_duration(b[0], 32, tg->hold_ns) : "n/a",
			wall > 0 && probes ? tg->hold_ns / 1e9 / wall * 100 : 0,
			(unsigned long long)tg->acquisitions,
			ls_fmt_duration(b[1], 32, tg->wait_ns),
			fmt_hist(b[2], 32, &tg->wait, 0.99));
	}
	if (g->wait.count) {
		fprintf(out, "  wait for the GIL, all threads:\n");
		ls_hist_print_log2(out, &g->wait, "  ", 1000, "usecs");
	}
	if (probes && g->hold.count) {
		fprintf(out, "  GIL hold, all threads:\n");
		ls_hist_print_log2(out, &g->hold, "  ", 1000, "usecs");
	}
}

static void render_gils(FILE *out, const struct ls_report *r)
{
	const struct ls_analysis *a = r->a;
	struct ls_thread **v;
	const struct ls_gil *g;
	size_t pos = 0;

	if (!a->gils.nr) {
		fprintf(out, "\nGIL: no CPython interpreter was found in the traced processes\n");
		return;
	}
	/* sorted once for every GIL: a trace may hold thousands */
	v = ls_report_threads_by(r, cmp_thread_gil_hold);
	while (v && (g = ls_htab_next(&a->gils, &pos)))
		render_gil(out, a, g, v, a->threads.nr);
	free(v);
}

#define PY_FUNC_COLS 100 /* a row's function label ends at this column */

/* text, wrapped at spaces into lines of at most width columns after indent */
static void wrap(FILE *out, const char *indent, const char *text, size_t width)
{
	while (*text) {
		size_t n = strlen(text), cut = n;

		if (n > width) {
			for (cut = width; cut && text[cut] != ' '; cut--)
				;
			if (!cut) /* no space: a cut that splits no UTF-8 character */
				for (cut = width; cut && ((unsigned char)text[cut] & 0xc0) == 0x80;)
					cut--;
			if (!cut)
				cut = width;
		}
		fprintf(out, "%s%.*s\n", indent, (int)cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

/*
 * A row: its figures (row, already written), then function id of process tgid as a label that
 * ends by column PY_FUNC_COLS whatever the figures' width (a damaged file's are huge).
 */
static void py_row(FILE *out, const struct ls_analysis *a, const char *row, __u32 tgid, __u32 id,
		   __s32 line, bool first_line)
{
	const struct ls_pyfunc *f = ls_pyfunc_find(a, tgid, id);
	size_t col = strlen(row);
	char label[PY_FUNC_COLS + 1];

	if (f)
		ls_pyfunc_label(f, first_line ? f->firstlineno : line, label,
				col + 16 < PY_FUNC_COLS ? PY_FUNC_COLS - col + 1 : 17);
	fprintf(out, "%s%s\n", row, f ? label : "[unknown]");
}

typedef __u64 (*py_figure)(const struct ls_pyfunc *f);

static __u64 py_waited(const struct ls_pyfunc *f)
{
	return f->gil_wait_ns;
}

static __u64 py_blamed(const struct ls_pyfunc *f)
{
	return f->blamed_wait_ns;
}

/* The GIL held by function, estimated from the samples that found it held */
static void py_held_table(FILE *out, const struct ls_report *r, const struct ls_pyproc *p,
			  unsigned int top)
{
	const struct ls_analysis *a = r->a;
	size_t n = a->py.funcs.nr, i = ls_report_first_of((void *const *)r->py_by_held, n,
							   offsetof(struct ls_pyfunc, tgid), p->tgid);
	double period = ls_py_sample_ns(a, p->tgid), wall = a->end_ns - a->start_ns;
	char b[3][32], row[160];

	if (period > 0)
		fprintf(out,
			"  GIL held by function, SAMPLED: GIL-held samples x %s, +- 2 sqrt(samples) "
			"samples\n",
			ls_fmt_duration(b[0], 32, (__u64)(period + 0.5)));
	else
		fprintf(out, "  GIL held by function (samples; no rate known: no time estimated)\n");
	fprintf(out, "    %10s %9s %6s %8s  %s\n", "EST. HELD", "+-", "WALL", "SAMPLES",
		"FUNCTION (FILE:FIRST LINE)");
	for (unsigned int k = 0; i < n && k < top; i++, k++) {
		const struct ls_pyfunc *f = r->py_by_held[i];
		double est = f->held_samples * period;

		if (f->tgid != p->tgid || !f->held_samples)
			break;
		snprintf(row, sizeof(row), "    %10s %9s %5.1f%% %8llu  ",
			 period > 0 ? ls_fmt_duration(b[0], 32, (__u64)(est + 0.5)) : "n/a",
			 period > 0 ? ls_fmt_duration(b[1], 32,
						      (__u64)(2 * sqrt(f->held_samples) * period + 0.5))
				    : "n/a",
			 wall > 0 ? est * 100 / wall : 0, (unsigned long long)f->held_samples);
		py_row(out, a, row, f->tgid, f->id, 0, true);
	}
}

/* GIL wait time by function: begun in it (waited), or while it held the GIL (caused) */
static void py_wait_table(FILE *out, const struct ls_report *r, const struct ls_pyproc *p,
			  unsigned int top, bool blamed)
{
	struct ls_pyfunc *const *v = blamed ? r->py_by_blamed : r->py_by_wait;
	size_t n = r->a->py.funcs.nr,
	       i = ls_report_first_of((void *const *)v, n, offsetof(struct ls_pyfunc, tgid),
				      p->tgid);
	py_figure figure = blamed ? py_blamed : py_waited;
	char b[32], row[160];

	fprintf(out, "  GIL %s (%s in all): each wait's time, by the %s function as it began\n",
		blamed ? "waits caused" : "waited",
		ls_fmt_duration(b, sizeof(b), p->gil_wait_ns), blamed ? "holder's" : "waiter's");
	fprintf(out, "    %10s %8s  %s\n", blamed ? "CAUSED" : "WAITED", "WAITS",
		"FUNCTION (FILE:FIRST LINE)");
	for (unsigned int k = 0; i < n && k < top; i++, k++) {
		const struct ls_pyfunc *f = v[i];

		if (f->tgid != p->tgid || !figure(f))
			break;
		snprintf(row, sizeof(row), "    %10s %8llu  ", ls_fmt_duration(b, sizeof(b), figure(f)),
			 (unsigned long long)(blamed ? f->blamed_waits : f->gil_waits));
		py_row(out, r->a, row, f->tgid, f->id, 0, true);
	}
}

/* v: the threads by process, then tid */
static void py_threads_table(FILE *out, const struct ls_report *r, const struct ls_pyproc *p,
			     struct ls_thread *const *v)
{
	size_t n = r->a->threads.nr, i = ls_threads_of(v, n, p->tgid);
	char row[160];

	fprintf(out, "  threads: the function of most of their samples\n");
	fprintf(out, "    %-9s %-12s %7s %5s  %s\n", "TID", "COMM", "SAMPLES", "HELD",
		"TOP FUNCTION (FILE:FIRST LINE)");
	for (; i < n && v[i]->tgid == p->tgid; i++) {
		const struct ls_thread_py *tp = v[i]->py;

		if (!tp || !tp->samples)
			continue;
		snprintf(row, sizeof(row), "    %-9u %-12.12s %7llu %5llu  ", v[i]->tid, v[i]->comm,
			 (unsigned long long)tp->samples, (unsigned long long)tp->held_samples);
		if (tp->top_func)
			py_row(out, r->a, row, p->tgid, tp->top_func, 0, true);
		else
			fprintf(out, "%s[unattributed]\n", row);
	}
}

static void py_lines_table(FILE *out, const struct ls_report *r, const struct ls_pyproc *p,
			   unsigned int top)
{
	size_t n = r->a->py.lines.nr,
	       i = ls_report_first_of((void *const *)r->py_lines, n,
				      offsetof(struct ls_pyline, key.tgid), p->tgid);
	char b[32], row[160];

	if (i >= n || r->py_lines[i]->key.tgid != p->tgid)
		return;
	fprintf(out, "  lock waits by Python line (blocked waits)\n");
	fprintf(out, "    %-24s %8s %10s  %s\n", "LOCK", "WAITS", "WAITED", "FUNCTION (FILE:LINE)");
	for (unsigned int k = 0; i < n && k < top && r->py_lines[i]->key.tgid == p->tgid;
	     i++, k++) {
		const struct ls_pyline *l = r->py_lines[i];

		snprintf(row, sizeof(row), "    %-24.24s %8llu %10s  ", ls_report_lock_label(r, l->lock),
			 (unsigned long long)l->waits, ls_fmt_duration(b, sizeof(b), l->wait_ns));
		py_row(out, r->a, row, p->tgid, l->key.func, l->key.line, false);
	}
}

static void render_python(FILE *out, const struct ls_report *r, const struct ls_pyproc *p,
			  struct ls_thread *const *v, unsigned int top)
{
	char b[32];

	fprintf(out, "\nPYTHON (pid %u", p->tgid);
	if (p->hexversion)
		fprintf(out, ", CPython %u.%u.%u", p->hexversion >> 24, (p->hexversion >> 16) & 0xff,
			(p->hexversion >> 8) & 0xff);
	if (!p->have_status || p->err) {
		fprintf(out, "): stacks unavailable%s\n", p->have_status ? ":" : " (no status)");
		if (p->have_status)
			wrap(out, "  ", p->why[0] ? p->why : strerror(-p->err), 96);
		if (!p->stacks)
			return;
	} else {
		fprintf(out, "): sampled %u/s per CPU running a thread\n", p->sample_hz);
	}
	fprintf(out, "  samples %llu (GIL held %llu, unattributed %llu)\n",
		(unsigned long long)p->samples, (unsigned long long)p->held_samples,
		(unsigned long long)p->samples_unattributed);
	if (p->funcs_left_out)
		fprintf(out, "  (%llu functions beyond the table's %d left out: their samples "
			     "unattributed)\n",
			(unsigned long long)p->funcs_left_out, LS_PY_FUNCS_MAX);
	py_held_table(out, r, p, top);
	py_wait_table(out, r, p, top, false);
	py_wait_table(out, r, p, top, true);
	if (p->blamed_unknown_ns)
		fprintf(out, "    %10s %8s  [holder unknown]\n",
			ls_fmt_duration(b, sizeof(b), p->blamed_unknown_ns), "");
	py_threads_table(out, r, p, v);
	py_lines_table(out, r, p, top);
}

static void render_pythons(FILE *out, const struct ls_report *r, unsigned int top)
{
	struct ls_thread **v;

	if (!r->py_procs[0])
		return;
	v = ls_report_threads_by(r, cmp_thread);
	for (size_t i = 0; v && r->py_procs[i]; i++)
		render_python(out, r, r->py_procs[i], v, top);
	free(v);
}

static int cmp_thread_oncpu(const void *pa, const void *pb)
{
	const struct ls_thread *x = *(const struct ls_thread *const *)pa;
	const struct ls_thread *y = *(const struct ls_thread *const *)pb;
	__u64 xl = x->state_ns[LS_ST_RUNNING] + x->state_ns[LS_ST_LOCK_WAIT];
	__u64 yl = y->state_ns[LS_ST_RUNNING] + y->state_ns[LS_ST_LOCK_WAIT];

	if (!x->timeline != !y->timeline) /* threads without a lane last */
		return x->timeline ? -1 : 1;
	if (xl != yl)
		return xl > yl ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Sum over [from, to) of n values per cell (cells of stride values), from the streaming cells. */
static void column_sum(const struct ls_analysis *a, const __u64 *cells, int stride, int n,
		       __u64 from, __u64 to, double *acc)
{
	for (__u64 c = from / a->cell_ns; c < LS_TL_CELLS && c * a->cell_ns < to; c++) {
		__u64 lo = c * a->cell_ns, hi = lo + a->cell_ns;
		double part = (double)((hi < to ? hi : to) - (lo > from ? lo : from)) / a->cell_ns;

		for (int s = 0; s < n; s++)
			acc[s] += cells[c * stride + s] * part;
	}
}

/* The phase of each column, by the verdict's initial: where the PHASES table's rows fall */
static void phase_lane(FILE *out, const struct ls_analysis *a, const struct ls_phases *p)
{
	__u64 wall = a->end_ns - a->start_ns;
	size_t k = 0;

	if (!p || p->nr < 2)
		return;
	fprintf(out, "  %-14s |", "phase");
	for (int c = 0; c < TL_COLS; c++) {
		__u64 mid = a->start_ns + wall * (2 * c + 1) / (2 * TL_COLS);

		while (k + 1 < p->nr && p->v[k].end_ns <= mid)
			k++;
		fputc(ls_verdict_title(p->v[k].s.verdict)[0], out);
	}
	fprintf(out, "|\n");
}

/* One lane of the timeline: in each column, the state that took most of the threads' time */
static void render_lane(FILE *out, const struct ls_analysis *a, const char *label,
			const __u64 *cells)
{
	__u64 wall = a->end_ns - a->start_ns;

	fprintf(out, "  %-14.14s |", label);
	for (int c = 0; c < TL_COLS; c++) {
		__u64 from = wall * c / TL_COLS, to = wall * (c + 1) / TL_COLS;
		double acc[LS_ST_NR] = { 0 }, best = 0;
		char ch = ' ';

		column_sum(a, cells, LS_ST_NR, LS_ST_NR, from, to, acc);
		for (int s = 0; s < LS_ST_NR; s++) {
			if (acc[s] > best) {
				best = acc[s];
				ch = state_chars[s];
			}
		}
		fputc(ch, out);
	}
	fprintf(out, "|\n");
}

/* CPUs busy per column, from cells of CPU time (cells[i * stride]) */
static void cpus_lane(FILE *out, const struct ls_analysis *a, const char *label, const __u64 *cells,
		      int stride)
{
	__u64 wall = a->end_ns - a->start_ns;

	fprintf(out, "  %-14s |", label);
	for (int c = 0; c < TL_COLS; c++) {
		__u64 from = wall * c / TL_COLS, to = wall * (c + 1) / TL_COLS;
		double busy = 0;

		column_sum(a, cells, stride, 1, from, to, &busy);
		busy = to > from ? busy / (to - from) : 0;
		fputc(busy < 0.05 ? ' ' : busy >= 9.5 ? '+' : '0' + (int)(busy + 0.5), out);
	}
	fprintf(out, "|\n");
}

/* The folded processes' threads in one lane, their time summed: when they ran, and how. */
static void render_folded_lane(FILE *out, const struct ls_analysis *a, struct ls_thread *const *v,
			       const struct ls_fold *fold)
{
	__u64 cells[LS_TL_CELLS][LS_ST_NR] = { 0 };
	char label[32];

	for (size_t i = 0; i < a->threads.nr; i++) {
		if (!v[i]->timeline || !ls_fold_has(fold, v[i]->tgid))
			continue;
		for (int c = 0; c < LS_TL_CELLS; c++)
			for (int s = 0; s < LS_ST_NR; s++)
				cells[c][s] += v[i]->timeline[c][s];
	}
	snprintf(label, sizeof(label), "(%u folded)", fold->processes);
	render_lane(out, a, label, &cells[0][0]);
}

static void render_timeline(FILE *out, const struct ls_report *r, unsigned int lanes)
{
	const struct ls_analysis *a = r->a;
	const struct ls_fold *fold = &r->fold;
	struct ls_thread **v = ls_report_threads_by(r, cmp_thread_oncpu);
	__u64 wall = a->end_ns - a->start_ns;
	size_t shown = 0, kept = 0;
	char b[32];

	if (!v || !wall) {
		free(v);
		return;
	}
	fprintf(out,
		"\nTIMELINE (%s per column; # running, + runnable, L lock-wait, G gil-wait, "
		". other wait)\n",
		ls_fmt_duration(b, sizeof(b), wall / TL_COLS));
	for (size_t i = 0; i < a->threads.nr; i++) {
		char label[32];

		if (ls_fold_has(fold, v[i]->tgid))
			continue;
		kept++;
		if (shown >= lanes || !v[i]->timeline)
			continue;
		snprintf(label, sizeof(label), "%u %s", v[i]->tid, v[i]->comm);
		render_lane(out, a, label, &v[i]->timeline[0][0]);
		shown++;
	}
	if (fold->processes)
		render_folded_lane(out, a, v, fold);
	if (kept > shown)
		fprintf(out, "  (%zu more threads not shown; --lanes N)\n", kept - shown);
	cpus_lane(out, a, "busy CPUs", &a->state_cells[0][LS_ST_RUNNING], LS_ST_NR);
	if (r->summary.other_measured)
		cpus_lane(out, a, "other CPUs", a->other_cells, 1);
	phase_lane(out, a, r->phases);
	free(v);
}

void ls_render_text(FILE *out, const struct ls_report *r, const struct ls_render_opts *o)
{
	render_header(out, r, o);
	render_parallelism(out, r->a, &r->summary, r->phases);
	render_threads(out, r);
	render_locks(out, r, o->top ? o->top : 10, o->stacks);
	render_gils(out, r);
	render_pythons(out, r, o->top ? o->top : 10);
	if (!o->no_timeline)
		render_timeline(out, r, o->lanes ? o->lanes : 16);
}
