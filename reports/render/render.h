/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text rendering of an analysis; everything goes to the FILE * given, within 100 columns. */
#ifndef LS_RENDER_H
#define LS_RENDER_H

#include <stdbool.h>
#include <stdio.h>
#include "model.h"

struct ls_render_opts {
	unsigned int top;   /* locks shown */
	unsigned int lanes; /* threads in the timeline */
	bool no_timeline;
	bool stacks; /* each call site's top stack */
};

void ls_render_text(FILE *out, const struct ls_report *r, const struct ls_render_opts *o);
/* A duration in the unit that suits it: "812 ns", "12.3 us", "4.56 ms", "2.013 s". */
const char *ls_fmt_duration(char *buf, size_t len, __u64 ns);
/* The index of the first thread of process tgid in v, n threads sorted by process first. */
size_t ls_threads_of(struct ls_thread *const *v, size_t n, __u32 tgid);

#endif
