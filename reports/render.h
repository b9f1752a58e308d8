/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text rendering of an analysis; everything goes to the FILE * given. */
#ifndef LS_RENDER_H
#define LS_RENDER_H

#include <stdio.h>
#include "analyze.h"

struct ls_render_opts {
	const char *path; /* the trace's name, for the header */
	unsigned int top; /* locks shown */
};

void ls_render_text(FILE *out, const struct ls_analysis *a, const struct ls_render_opts *o);
/* A duration in the unit that suits it: "812 ns", "12.3 us", "4.56 ms", "2.013 s". */
const char *ls_fmt_duration(char *buf, size_t len, __u64 ns);

#endif
