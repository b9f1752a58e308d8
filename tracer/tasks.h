/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The tasks of a recording, by tid, kept up to date from task records (new, exec, exit). */
#ifndef LS_TASKS_H
#define LS_TASKS_H

#include <stddef.h>
#include "htab.h"
#include "trace.h"

struct ls_tasks {
	struct ls_htab h; /* of struct ls_task, keyed by hdr.tid */
};

void ls_tasks_init(struct ls_tasks *t);
void ls_tasks_free(struct ls_tasks *t);
struct ls_task *ls_tasks_find(const struct ls_tasks *t, __u32 tid);
/* Find or add (zeroed but for tid); NULL when out of memory. */
struct ls_task *ls_tasks_get(struct ls_tasks *t, __u32 tid);
/* Apply a TASK, TASK_NEW, EXEC or EXIT record; others are ignored. 0 or -ENOMEM. */
int ls_tasks_update(struct ls_tasks *t, const struct ls_rec_hdr *rec);
/* The task after *pos (start with 0), or NULL at the end. */
struct ls_task *ls_tasks_next(const struct ls_tasks *t, size_t *pos);

#endif
