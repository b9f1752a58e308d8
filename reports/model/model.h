/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The report model: what every renderer shows, built once from a finished analysis: the summary,
 * the phases, what the text report folds, the threads and locks in order, and the locks' names
 * (resolved here, where the ELF files are read, each the first time a renderer asks for it). Renderers (text, JSON,
 * compare) read the model and the analysis it points to, and compute nothing of their own.
 */
#ifndef LS_MODEL_H
#define LS_MODEL_H

#include <stdbool.h>
#include "analyze.h"
#include "fold.h"
#include "phases.h"
#include "summary.h"

#define LS_LABEL_MAX 96

struct ls_report {
	const char *path; /* the trace's name */
	const struct ls_analysis *a;
	struct ls_summary summary;
	struct ls_phases *phases; /* NULL when out of memory */
	struct ls_fold fold;	  /* the processes the text report folds (none: fold.processes 0) */
	struct ls_thread **threads; /* as the analysis met them, NULL-terminated */
	struct ls_lock **locks;	    /* by blocked wait time, longest first, NULL-terminated */
	/* the names of the locks asked for, by the lock's address: at most half full */
	struct ls_lock_label {
		const struct ls_lock *lock; /* NULL: a free slot */
		char *name;		    /* NULL: out of memory */
	} * labels;
	size_t labels_cap; /* a power of two */
	/* Python stacks (pyfuncs.h), each list by process, then its figure, most first */
	struct ls_pyproc **py_procs;	 /* by process */
	struct ls_pyfunc **py_by_held;	 /* by GIL-held samples, then all samples */
	struct ls_pyfunc **py_by_wait;	 /* by GIL wait begun in them */
	struct ls_pyfunc **py_by_blamed; /* by GIL waits they caused */
	struct ls_pyline **py_lines;	 /* lock waits by Python line, by wait time */
};

/* Build the model of analysis a (finished); fold: fold what METRICS.md says. -ENOMEM or 0. */
int ls_report_build(struct ls_report *r, const struct ls_analysis *a, const char *path, bool fold);
void ls_report_free(struct ls_report *r);
/* How lock l is named in reports: symbol+offset, mapping, GIL word, or address. */
const char *ls_report_lock_label(const struct ls_report *r, const struct ls_lock *l);
/* The model's threads in another order (cmp on struct ls_thread **), NULL-terminated; the caller
 * frees the array. NULL when out of memory. */
struct ls_thread **ls_report_threads_by(const struct ls_report *r,
					int (*cmp)(const void *, const void *));
/*
 * The name of address uaddr of process tgid, by what is known of its memory maps so far: for the
 * streaming renderer (render_chrome.c), which names locks as it reads. Into buf, returned.
 */
const char *ls_addr_label(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			  size_t len);
/* The first entry of process tgid in list (n entries by process first; an entry's tgid at off) */
size_t ls_report_first_of(void *const *list, size_t n, size_t off, __u32 tgid);
/* Function f as "qualified.name (file:line)" within len bytes (the file shortened first) */
const char *ls_pyfunc_label(const struct ls_pyfunc *f, __s32 line, char *buf, size_t len);
/* Locks by blocked wait time, longest first (qsort on struct ls_lock **) */
int ls_cmp_lock_wait(const void *pa, const void *pb);

#endif
