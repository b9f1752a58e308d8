// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The text report: header, processes and threads, locks. Lines stay within 100 columns. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "render.h"

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

static const char *fmt_status(char *buf, size_t len, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "status 0x%x", status);
	return buf;
}

static void render_header(FILE *out, const struct ls_analysis *a, const struct ls_render_opts *o)
{
	static const char *const reasons[] = { [LS_STOP_EXITED] = "the workload exited",
					       [LS_STOP_DURATION] = "the duration elapsed",
					       [LS_STOP_SIGNAL] = "a signal" };
	time_t t = a->hdr.start_real_ns / 1000000000ULL;
	char when[64], st[96];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
	fprintf(out, "lockscope report: %s\n", o->path ? o->path : "-");
	fprintf(out, "  %-9s %s\n", a->hdr.mode == LS_MODE_PID ? "pid:" : "command:", a->cmdline);
	if (a->hdr.mode == LS_MODE_PID)
		fprintf(out, "  %-9s %u\n", "target:", a->hdr.target_pid);
	fprintf(out, "  %-9s %.3f s from %s\n", "window:", (a->end_ns - a->start_ns) / 1e9, when);
	fprintf(out, "  %-9s Linux %s, %u CPUs, lockscope %s\n", "system:", a->hdr.kernel,
		a->hdr.nr_cpus, a->hdr.tool_version);
	fprintf(out, "  %-9s %llu, %llu lost\n", "records:", (unsigned long long)a->nr_records,
		(unsigned long long)a->nr_lost);
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
			"full.\n  Switch counts, on-CPU times and wait totals may be low; record "
			"again with a larger -b.\n",
			(unsigned long long)a->nr_lost, a->nr_lost_cpus);
}

static int cmp_thread(const void *pa, const void *pb)
{
	const struct ls_thread *x = *(const struct ls_thread *const *)pa;
	const struct ls_thread *y = *(const struct ls_thread *const *)pb;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int cmp_lock(const void *pa, const void *pb)
{
	const struct ls_lock *x = *(const struct ls_lock *const *)pa;
	const struct ls_lock *y = *(const struct ls_lock *const *)pb;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return x->blocked > y->blocked ? -1 : x->blocked < y->blocked;
}

/* The entries of a table, sorted; the caller frees the array. */
static void **sorted(const struct ls_htab *h, int (*cmp)(const void *, const void *))
{
	void **v = calloc(h->nr + 1, sizeof(*v)), *e;
	size_t pos = 0, n = 0;

	if (!v)
		return NULL;
	while ((e = ls_htab_next(h, &pos)))
		v[n++] = e;
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

static void thread_row(FILE *out, const char *indent, __u32 id, const char *comm, __u64 oncpu,
		       __u64 life, __u64 vol, __u64 invol)
{
	char b1[32], b2[32];

	fprintf(out, "  %s%-*u %-16s %12s %12s %10llu %10llu\n", indent, 10 - (int)strlen(indent),
		id, comm, ls_fmt_duration(b1, sizeof(b1), oncpu),
		ls_fmt_duration(b2, sizeof(b2), life), (unsigned long long)vol,
		(unsigned long long)invol);
}

static void render_threads(FILE *out, const struct ls_analysis *a)
{
	struct ls_thread **v = (struct ls_thread **)sorted(&a->threads, cmp_thread);
	size_t n = a->threads.nr;

	fprintf(out, "\nPROCESSES AND THREADS (on-CPU time; context switches as the kernel counts "
		     "them)\n");
	fprintf(out, "  %-10s %-16s %12s %12s %10s %10s\n", "PID/TID", "COMM", "ON-CPU", "LIFETIME",
		"VOLUNTARY", "INVOLUNT.");
	if (!v)
		return;
	for (size_t i = 0; i < n;) {
		__u64 oncpu = 0, vol = 0, invol = 0, life = 0;
		const struct ls_thread *leader = v[i];
		size_t j;

		for (j = i; j < n && v[j]->tgid == v[i]->tgid; j++) {
			oncpu += v[j]->oncpu_ns;
			vol += v[j]->vol_switches;
			invol += v[j]->invol_switches;
			if (v[j]->tid == v[j]->tgid)
				leader = v[j];
		}
		life = ls_thread_lifetime(a, leader);
		thread_row(out, "", v[i]->tgid, leader->comm, oncpu, life, vol, invol);
		for (; i < j; i++)
			thread_row(out, "  ", v[i]->tid, v[i]->comm, v[i]->oncpu_ns,
				   ls_thread_lifetime(a, v[i]), v[i]->vol_switches,
				   v[i]->invol_switches);
	}
	free(v);
}

static void render_locks(FILE *out, const struct ls_analysis *a, unsigned int top)
{
	struct ls_lock **v = (struct ls_lock **)sorted(&a->locks, cmp_lock);
	char b1[32], b2[32];
	size_t n = a->locks.nr;

	fprintf(out, "\nFUTEX WORDS (by blocking wait time; top %u of %zu)\n", top, n);
	fprintf(out, "  %-8s %-18s %9s %9s %12s %12s %9s\n", "PID", "ADDRESS", "WAITS", "BLOCKED",
		"WAIT TOTAL", "WAIT MEAN", "WAKES");
	if (!v)
		return;
	for (size_t i = 0; i < n && i < top; i++) {
		const struct ls_lock *l = v[i];

		fprintf(out, "  %-8u 0x%016llx %9llu %9llu %12s %12s %9llu\n", l->key.tgid,
			(unsigned long long)l->key.uaddr, (unsigned long long)l->waits,
			(unsigned long long)l->blocked, ls_fmt_duration(b1, sizeof(b1), l->wait_ns),
			l->blocked ? ls_fmt_duration(b2, sizeof(b2), l->wait_ns / l->blocked) : "-",
			(unsigned long long)l->wakes);
	}
	if (!n)
		fprintf(out, "  (no futex traffic: every lock was taken without contention)\n");
	free(v);
}

void ls_render_text(FILE *out, const struct ls_analysis *a, const struct ls_render_opts *o)
{
	render_header(out, a, o);
	render_threads(out, a);
	render_locks(out, a, o->top ? o->top : 10);
}
