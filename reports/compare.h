/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* lockscope compare: recordings side by side (reports/METRICS.md "Comparing recordings"). */
#ifndef LS_COMPARE_H
#define LS_COMPARE_H

#include <stdio.h>
#include "analyze.h"

struct ls_compared {
	const char *path;
	const struct ls_analysis *a;
};

void ls_compare_text(FILE *out, const struct ls_compared *r, int n);
void ls_compare_json(FILE *out, const struct ls_compared *r, int n);

#endif
