// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "lockscope.h" /* the skeleton's .bss holds its structs */
#include "lockscope.skel.h"
#include "pyframes.h"
#include "pystacks.h"

/*
 * An interpreter found as its process starts has no thread state yet, and the check fails: try
 * again every RETRY_NS, TRIES times (5 s), before saying why not.
 */
#define TRIES	 50
#define RETRY_NS 100000000ULL
#define WHY_MAX	 200

enum pys_state {
	PYS_NONE,
	PYS_PENDING, /* found, its offsets not checked yet */
	PYS_ON,	     /* read by the kernel */
	PYS_OFF,     /* not available: status says why */
};

struct pys_proc {
	__u32 tgid; /* key */
	enum pys_state state;
	bool status_due;
	int err;
	__u32 hexversion;
	int tries;
	__u64 next_ns;
	struct ls_pyinfo *info; /* PENDING: kept, its file open, to try again */
	struct ls_py_offsets off;
	struct ls_py_codes *codes; /* ON: made on the first stack */
	char why[WHY_MAX];
};

struct pys_func {
	struct {
		__u32 tgid;
		__s32 firstlineno;
		char name[LS_PY_STR_MAX];
		char file[LS_PY_STR_MAX];
	} key; /* zero-padded: compared as bytes */
	__u32 id;
};

void ls_pystacks_init(struct ls_pystacks *s, struct lockscope_bpf *skel, bool on, __u32 sample_hz)
{
	memset(s, 0, sizeof(*s));
	s->on = on;
	s->skel = skel;
	s->sample_hz = sample_hz;
	ls_htab_init(&s->procs, sizeof(struct pys_proc), offsetof(struct pys_proc, tgid),
		     sizeof(__u32));
	ls_htab_init(&s->funcs, sizeof(struct pys_func), offsetof(struct pys_func, key),
		     sizeof(((struct pys_func *)0)->key));
}

static void drop_info(struct pys_proc *pp)
{
	if (!pp->info)
		return;
	ls_pyinfo_release(pp->info);
	free(pp->info);
	pp->info = NULL;
}

static void proc_release(struct pys_proc *pp)
{
	drop_info(pp);
	ls_py_codes_free(pp->codes);
	pp->codes = NULL;
}

void ls_pystacks_free(struct ls_pystacks *s)
{
	struct pys_proc *pp;
	size_t pos = 0;

	while ((pp = ls_htab_next(&s->procs, &pos)))
		proc_release(pp);
	ls_htab_free(&s->procs);
	ls_htab_free(&s->funcs);
}

/* The BPF walker reads pp's stacks from now on. */
static int enable(struct ls_pystacks *s, struct pys_proc *pp)
{
	int err = bpf_map__update_elem(s->skel->maps.py_offsets, &pp->tgid, sizeof(pp->tgid),
				       &pp->off, sizeof(pp->off), BPF_ANY);

	pp->status_due = true;
	if (err) {
		pp->state = PYS_OFF;
		pp->err = err;
		snprintf(pp->why, sizeof(pp->why), "the BPF map of Python offsets is full: %s",
			 strerror(-err));
		return 0;
	}
	__atomic_fetch_add(&s->skel->bss->nr_py, 1, __ATOMIC_RELAXED);
	pp->state = PYS_ON;
	pp->err = 0;
	pp->why[0] = '\0';
	return 1;
}

/* One try at pp's offsets: 1 when enabled, 0 when not (yet) */
static int try_offsets(struct ls_pystacks *s, struct pys_proc *pp, const struct ls_pyinfo *info,
		       __u64 now)
{
	int err = ls_py_offsets_find(pp->tgid, info, &pp->off, pp->why, sizeof(pp->why));

	pp->hexversion = info->major << 24 | info->minor << 16 | info->micro << 8;
	if (!err)
		return enable(s, pp);
	pp->err = err;
	/* the check fails until the interpreter has a thread state: it may not have one yet */
	if (err == -EINVAL && --pp->tries > 0) {
		pp->state = PYS_PENDING;
		pp->next_ns = now + RETRY_NS;
		return 0;
	}
	pp->state = PYS_OFF;
	pp->status_due = true;
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int ls_pystacks_found(struct ls_pystacks *s, __u32 tgid, struct ls_pyinfo *info)
{
	struct pys_proc *pp;
	int ret;

	if (!s->on)
		return 0;
	pp = ls_htab_get(&s->procs, &tgid, NULL);
	if (!pp)
		return 0;
	proc_release(pp);
	pp->tries = TRIES;
	ret = try_offsets(s, pp, info, mono_ns());
	if (pp->state == PYS_PENDING) {
		pp->info = malloc(sizeof(*pp->info));
		if (!pp->info) {
			pp->state = PYS_OFF;
			pp->status_due = true;
			return 0;
		}
		*pp->info = *info;
		info->fd = -1; /* kept open for the next try */
	}
	return ret;
}

int ls_pystacks_inherit(struct ls_pystacks *s, __u32 parent, __u32 child)
{
	struct pys_proc *p = ls_htab_find(&s->procs, &parent), *c;

	if (!p || p->state != PYS_ON)
		return 0;
	c = ls_htab_get(&s->procs, &child, NULL);
	if (!c)
		return 0;
	proc_release(c);
	c->off = p->off;
	c->hexversion = p->hexversion;
	return enable(s, c);
}

void ls_pystacks_forget(struct ls_pystacks *s, __u32 tgid)
{
	struct pys_proc *pp = ls_htab_find(&s->procs, &tgid);

	if (!pp)
		return;
	if (pp->state == PYS_ON) {
		bpf_map__delete_elem(s->skel->maps.py_offsets, &tgid, sizeof(tgid), 0);
		pp->state = PYS_NONE;
	}
	if (pp->state == PYS_PENDING) { /* its status still says why it was not read */
		pp->state = PYS_OFF;
		pp->status_due = true;
	}
	proc_release(pp);
}

static int write_status(struct ls_pystacks *s, struct ls_writer *w, struct pys_proc *pp)
{
	char buf[sizeof(struct ls_py_status) + WHY_MAX] = { 0 };
	struct ls_py_status *st = (struct ls_py_status *)buf;
	size_t len = pp->err ? strnlen(pp->why, WHY_MAX - 1) + 1 : 1;

	st->hdr = (struct ls_rec_hdr){ LS_REC_PY_STATUS, sizeof(*st) + len, pp->tgid };
	st->err = pp->err;
	st->hexversion = pp->hexversion;
	st->sample_hz = pp->err ? 0 : s->sample_hz;
	if (pp->err)
		memcpy(st->why, pp->why, len - 1);
	pp->status_due = false;
	return ls_writer_put(w, st, st->hdr.size);
}

int ls_pystacks_flush(struct ls_pystacks *s, struct ls_writer *w, __u64 now, int *enabled)
{
	struct pys_proc *pp;
	size_t pos = 0;
	int err = 0;

	*enabled = 0;
	while (!err && (pp = ls_htab_next(&s->procs, &pos))) {
		if (pp->codes) /* the next drain's stacks read their code objects again */
			ls_py_codes_epoch(pp->codes);
		if (pp->state == PYS_PENDING && now >= pp->next_ns) {
			*enabled += try_offsets(s, pp, pp->info, now);
			if (pp->state != PYS_PENDING)
				drop_info(pp);
		}
		if (pp->status_due)
			err = write_status(s, w, pp);
	}
	return err;
}

int ls_pystacks_finish(struct ls_pystacks *s, struct ls_writer *w)
{
	struct pys_proc *pp;
	size_t pos = 0;
	int err = 0;

	while (!err && (pp = ls_htab_next(&s->procs, &pos))) {
		if (pp->state == PYS_PENDING) {
			pp->state = PYS_OFF;
			pp->status_due = true;
			drop_info(pp);
		}
		if (pp->status_due)
			err = write_status(s, w, pp);
	}
	return err;
}

/* The id of the function at loc in tgid, its LS_REC_PY_FUNC written the first time; 0 when
 * there is no room left for it */
static int func_id(struct ls_pystacks *s, struct ls_writer *w, __u32 tgid,
		   const struct ls_py_location *loc, __u32 *id)
{
	char buf[sizeof(struct ls_py_func) + 2 * LS_PY_STR_MAX];
	struct ls_py_func *pf = (struct ls_py_func *)buf;
	struct pys_func key, *f;
	size_t name_len, file_len;
	bool created;

	memset(&key, 0, sizeof(key));
	key.key.tgid = tgid;
	key.key.firstlineno = loc->firstlineno;
	memcpy(key.key.name, loc->name, strnlen(loc->name, sizeof(key.key.name) - 1));
	memcpy(key.key.file, loc->file, strnlen(loc->file, sizeof(key.key.file) - 1));
	*id = 0;
	f = ls_htab_find(&s->funcs, &key.key);
	if (f) {
		*id = f->id;
		return 0;
	}
	if (s->funcs.nr >= LS_PY_FUNCS_MAX) {
		s->funcs_dropped++;
		return 0;
	}
	f = ls_htab_get(&s->funcs, &key.key, &created);
	if (!f)
		return -ENOMEM;
	f->id = s->funcs.nr; /* 1, 2, ...: entries are never removed */
	name_len = strlen(key.key.name);
	file_len = strlen(key.key.file);
	memset(pf, 0, sizeof(*pf));
	pf->hdr = (struct ls_rec_hdr){ LS_REC_PY_FUNC, sizeof(*pf) + name_len + file_len, tgid };
	pf->id = f->id;
	pf->firstlineno = loc->firstlineno;
	pf->name_len = name_len;
	pf->file_len = file_len;
	memcpy(pf->strs, key.key.name, name_len);
	memcpy(pf->strs + name_len, key.key.file, file_len);
	*id = f->id;
	return ls_writer_put(w, pf, pf->hdr.size);
}

int ls_pystacks_sample(struct ls_pystacks *s, struct ls_writer *w, const struct ls_py_sample *e,
		       size_t size)
{
	char buf[sizeof(struct ls_py_stack) + LS_PY_FRAMES_MAX * sizeof(struct ls_py_frame_rec)];
	struct ls_py_stack *st = (struct ls_py_stack *)buf;
	struct ls_py_location loc;
	struct ls_py_frame f;
	struct pys_proc *pp;
	__u32 nr;
	int err;

	if (size < offsetof(struct ls_py_sample, frames))
		return 0;
	nr = e->nr;
	if (nr > LS_PY_FRAMES_MAX ||
	    offsetof(struct ls_py_sample, frames) + nr * sizeof(e->frames[0]) > size)
		return 0;
	pp = ls_htab_find(&s->procs, &e->tgid);
	if (pp && pp->state == PYS_ON && !pp->codes)
		pp->codes = ls_py_codes_new(e->tgid, &pp->off);
	memset(st, 0, sizeof(*st));
	st->hdr = (struct ls_rec_hdr){ LS_REC_PY_STACK, sizeof(*st) + nr * sizeof(st->frames[0]),
				       e->hdr.tid };
	st->ts = e->ts;
	st->uaddr = e->uaddr;
	st->tgid = e->tgid;
	st->waiter_tid = e->waiter_tid;
	st->kind = e->kind;
	st->gil_held = e->gil_held;
	st->nr = nr;
	st->truncated = e->truncated;
	for (__u32 i = 0; i < nr; i++) {
		st->frames[i].func = 0;
		st->frames[i].line = 0;
		if (!pp || pp->state != PYS_ON || !pp->codes) {
			s->unresolved++;
			continue;
		}
		ls_py_frame_set(&pp->off, e->frames[i].code, e->frames[i].instr, &f);
		if (ls_py_resolve(pp->codes, &f, &loc)) {
			s->unresolved++;
			continue;
		}
		err = func_id(s, w, e->tgid, &loc, &st->frames[i].func);
		if (err)
			return err;
		st->frames[i].line = st->frames[i].func ? loc.line : 0;
	}
	s->stacks++;
	s->frames += nr;
	return ls_writer_put(w, st, st->hdr.size);
}
