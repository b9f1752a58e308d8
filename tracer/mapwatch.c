// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "mapwatch.h"
#include "procmaps.h"

struct mapwatch_proc {
	__u32 tgid; /* key */
	bool snapped;
	bool stale; /* threads or an exec since the last snapshot */
	__u64 last_ns;
};

void ls_mapwatch_init(struct ls_mapwatch *m)
{
	memset(m, 0, sizeof(*m));
	ls_htab_init(&m->procs, sizeof(struct mapwatch_proc), offsetof(struct mapwatch_proc, tgid),
		     sizeof(__u32));
}

void ls_mapwatch_free(struct ls_mapwatch *m)
{
	ls_htab_free(&m->procs);
}

static int snapshot(struct ls_mapwatch *m, struct mapwatch_proc *p, struct ls_writer *w, __u64 now)
{
	struct ls_maps_failed rec = { .hdr = { LS_REC_MAPS_FAILED, sizeof(rec), p->tgid } };
	int err = ls_procmaps_write(w, p->tgid, now);

	p->snapped = true;
	p->stale = false;
	p->last_ns = now;
	/* a process that is gone keeps its last snapshot */
	if (!err || err == -ESRCH || err == -ENOENT)
		return 0;
	if (w->err)
		return w->err;
	/*
	 * The map is there but unreadable (the recorder out of descriptors or memory, a security
	 * module saying no): only lock names suffer, so the recording goes on, and says so.
	 * Retried at the process's next change, as a stale snapshot is.
	 */
	if (!m->nr_failed++) {
		m->failed_tgid = p->tgid;
		m->failed_err = -err;
	}
	rec.ts = now;
	rec.err = -err;
	return ls_writer_put(w, &rec, sizeof(rec));
}

static bool is_futex(__u16 type)
{
	return type == LS_REC_FUTEX_WAIT || type == LS_REC_FUTEX_WAKE || type == LS_REC_FUTEX_WAITV;
}

int ls_mapwatch_record(struct ls_mapwatch *m, struct ls_writer *w, const struct ls_tasks *tasks,
		       const struct ls_rec_hdr *h, __u64 now)
{
	const struct ls_task *t;
	struct mapwatch_proc *p;

	if (h->type == LS_REC_TASK_NEW || h->type == LS_REC_EXEC) {
		t = ls_tasks_find(tasks, h->tid);
		p = t ? ls_htab_find(&m->procs, &t->tgid) : NULL;
		if (p)
			p->stale = true;
		return 0;
	}
	if (!is_futex(h->type) || !(t = ls_tasks_find(tasks, h->tid)) || !t->tgid)
		return 0;
	p = ls_htab_get(&m->procs, &t->tgid, NULL);
	if (!p)
		return -ENOMEM;
	if (!p->snapped || (p->stale && now - p->last_ns >= MAPWATCH_MIN_NS))
		return snapshot(m, p, w, now);
	return 0;
}

int ls_mapwatch_flush(struct ls_mapwatch *m, struct ls_writer *w, __u64 now)
{
	struct mapwatch_proc *p;
	size_t pos = 0;
	int err = 0;

	while (!err && (p = ls_htab_next(&m->procs, &pos)))
		if (p->stale)
			err = snapshot(m, p, w, now);
	return err;
}
