/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Chrome's Trace Event Format (the JSON ui.perfetto.dev and chrome://tracing open), written while
 * the analysis streams, as its observer: one track per thread with its states as slices, lock
 * hand-offs as flow arrows from the releaser to the waiter, and busy(t) as a counter. Memory
 * grows with the number of threads, never with the number of records. The layout is in
 * reports/JSON.md ("--format chrome").
 */
#ifndef LS_RENDER_CHROME_H
#define LS_RENDER_CHROME_H

#include <stdio.h>
#include "analyze.h"

struct ls_chrome;

/* A writer to out; NULL when out of memory. Give ls_chrome_observer() to the analysis. */
struct ls_chrome *ls_chrome_new(FILE *out);
const struct ls_observer *ls_chrome_observer(struct ls_chrome *c);
/*
 * After ls_analysis_finish(a): write what is still pending, the thread and process names and
 * the closing of the JSON, which is then whole even for a cut-short recording. a is NULL when
 * the analysis failed: the events written so far are closed. 0, or -EIO when a write failed.
 */
int ls_chrome_finish(struct ls_chrome *c, const struct ls_analysis *a);
void ls_chrome_free(struct ls_chrome *c);

#endif
