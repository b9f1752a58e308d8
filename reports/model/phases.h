/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Phases (reports/METRICS.md "Phases"): the window split where the behaviour changes, each part
 * with its own figures and verdict, made of the analysis's timeline cells.
 */
#ifndef LS_PHASES_H
#define LS_PHASES_H

#include "summary.h"

/* A phase lasts at least this share of the window: anything shorter is a flicker */
#define LS_PHASE_MIN_SHARE 0.05
#define LS_PHASES_MAX	   (LS_TL_CELLS / 2)

struct ls_phase {
	__u64 start_ns, end_ns;
	/* its figures, over its cells; switch counts and top_lock are left out */
	struct ls_summary s;
};

struct ls_phases {
	size_t nr;
	struct ls_phase v[LS_PHASES_MAX];
};

/* Split a finished analysis's window into phases: at least one. -ENOMEM, else 0. */
int ls_phases_find(const struct ls_analysis *a, struct ls_phases *p);

#endif
