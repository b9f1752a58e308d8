/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text rendering of an analysis; everything goes to the FILE * given, within 100 columns. */
#ifndef LS_RENDER_H
#define LS_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include "analyze.h"

struct ls_render_opts {
	const char *path;   /* the trace's name, for the header */
	unsigned int top;   /* locks shown */
	unsigned int lanes; /* threads in the timeline */
	bool no_timeline;
	bool stacks;  /* each call site's top stack */
	bool no_fold; /* every process shown, short-lived ones too (reports/fold.h) */
};

void ls_render_text(FILE *out, const struct ls_analysis *a, const struct ls_render_opts *o);
/* A duration in the unit that suits it: "812 ns", "12.3 us", "4.56 ms", "2.013 s". */
const char *ls_fmt_duration(char *buf, size_t len, __u64 ns);
/* How a lock is named in reports: symbol+offset, mapping, or address. */
const char *ls_lock_label(const struct ls_analysis *a, const struct ls_lock *l, char *buf,
			  size_t len);
/* The same for an address of process tgid, by what is known of its memory maps so far. */
const char *ls_addr_label(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			  size_t len);
/* The entries of a table sorted by cmp, NULL-terminated; the caller frees the array. */
void **ls_sorted(const struct ls_htab *h, int (*cmp)(const void *, const void *));
int ls_cmp_lock_wait(const void *pa, const void *pb);
/* The index of the first thread of process tgid in v, n threads sorted by process first. */
size_t ls_threads_of(struct ls_thread *const *v, size_t n, __u32 tgid);

#endif
