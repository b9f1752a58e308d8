// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "tasks.h"

void ls_tasks_init(struct ls_tasks *t)
{
	ls_htab_init(&t->h, sizeof(struct ls_task), offsetof(struct ls_task, hdr.tid),
		     sizeof(__u32));
}

void ls_tasks_free(struct ls_tasks *t)
{
	ls_htab_free(&t->h);
}

struct ls_task *ls_tasks_find(const struct ls_tasks *t, __u32 tid)
{
	return ls_htab_find(&t->h, &tid);
}

struct ls_task *ls_tasks_get(struct ls_tasks *t, __u32 tid)
{
	bool created;
	struct ls_task *task = ls_htab_get(&t->h, &tid, &created);

	if (task && created)
		task->hdr = (struct ls_rec_hdr){ LS_REC_TASK, sizeof(*task), tid };
	return task;
}

struct ls_task *ls_tasks_next(const struct ls_tasks *t, size_t *pos)
{
	return ls_htab_next(&t->h, pos);
}

int ls_tasks_update(struct ls_tasks *t, const struct ls_rec_hdr *rec)
{
	struct ls_task *task;

	switch (rec->type) {
	case LS_REC_TASK: {
		const struct ls_task *in = (const void *)rec;

		task = ls_tasks_get(t, rec->tid);
		if (!task)
			return -ENOMEM;
		*task = *in;
		task->hdr.size = sizeof(*task);
		return 0;
	}
	case LS_REC_TASK_NEW: {
		const struct ls_task_new *e = (const void *)rec;
		const struct ls_task *parent = ls_tasks_find(t, e->parent_tid);

		task = ls_tasks_get(t, rec->tid);
		if (!task)
			return -ENOMEM;
		task->ts_start = e->ts;
		task->tgid = e->tgid;
		task->ppid =
			e->flags & LS_TASK_THREAD ? (parent ? parent->ppid : 0) : e->parent_tgid;
		memcpy(task->comm, e->comm, LS_COMM_LEN);
		return 0;
	}
	case LS_REC_EXEC: {
		const struct ls_exec *e = (const void *)rec;

		task = ls_tasks_get(t, rec->tid);
		if (!task)
			return -ENOMEM;
		task->tgid = e->tgid;
		memcpy(task->comm, e->comm, LS_COMM_LEN);
		return 0;
	}
	case LS_REC_COMM: {
		const struct ls_comm *e = (const void *)rec;

		task = ls_tasks_get(t, rec->tid);
		if (!task)
			return -ENOMEM;
		memcpy(task->comm, e->comm, LS_COMM_LEN);
		return 0;
	}
	case LS_REC_EXIT: {
		const struct ls_exit *e = (const void *)rec;

		task = ls_tasks_get(t, rec->tid);
		if (!task)
			return -ENOMEM;
		task->tgid = e->tgid;
		task->ts_end = e->ts;
		task->exit_code = e->exit_code;
		task->flags |= LS_TASK_EXITED;
		memcpy(task->comm, e->comm, LS_COMM_LEN);
		return 0;
	}
	}
	return 0;
}
