// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Blocked wait time by thread and stack, in the folded format of flame-graph tools. */
#include <errno.h>
#include <stddef.h>
#include "folded.h"
#include "sites.h"

/* Wait time by (thread, stack), whatever the lock */
struct folded {
	struct {
		__u32 tgid;
		__u32 tid;
		__u32 stack_id;
	} key;
	__u64 wait_ns;
};

/* Flame-graph tools split a line at ';' and at its last space. */
static void put_frame(FILE *f, const char *name)
{
	for (; *name; name++)
		fputc(*name == ';' ? ':' : *name == ' ' ? '_' : *name, f);
}

/* A thread whose GIL waits are folded by Python stack: its native ones on the GIL are left out */
static bool gil_by_python(const struct ls_analysis *a, const struct ls_wait_site *w)
{
	const struct ls_thread *t = ls_htab_find(&a->threads, &w->key.tid);
	char buf[64];

	return t && t->py && t->py->gil_stacks &&
	       ls_gil_word_name(a, w->key.tgid, w->key.uaddr, buf, sizeof(buf));
}

/*
 * Python stacks in place of the interpreter's frames: GIL waits by the waiter's stack (ns of GIL
 * wait charged), GIL-held samples by their stack (each sample its period, estimated).
 */
static void render_python(FILE *f, const struct ls_analysis *a)
{
	static const char *const what[] = { [LS_PYFOLD_GIL_WAIT] = "[GIL wait]",
					    [LS_PYFOLD_GIL_HELD] = "[GIL held]" };
	const struct ls_pyfold *fo;
	size_t pos = 0;

	while ((fo = ls_htab_next(&a->py.folds, &pos))) {
		const struct ls_thread *t = ls_htab_find(&a->threads, &fo->key.tid);
		double ns = fo->key.what == LS_PYFOLD_GIL_WAIT
				    ? fo->ns
				    : fo->samples * ls_py_sample_ns(a, fo->key.tgid);

		if (ns < 1)
			continue;
		put_frame(f, t && t->comm[0] ? t->comm : "?");
		fprintf(f, "-%u", fo->key.tid);
		for (int i = (int)fo->key.nr - 1; i >= 0; i--) {
			const struct ls_pyfunc *fn = ls_pyfunc_find(a, fo->key.tgid,
								    fo->key.funcs[i]);

			fputc(';', f);
			put_frame(f, fn ? fn->name : "[unknown]");
		}
		fprintf(f, ";%s %llu\n", what[fo->key.what], (unsigned long long)(ns + 0.5));
	}
}

int ls_render_folded(FILE *f, const struct ls_analysis *a)
{
	const struct ls_wait_site *w;
	struct ls_htab by_stack;
	const struct folded *fo;
	size_t pos = 0;
	char buf[512];
	int err = 0;

	ls_htab_init(&by_stack, sizeof(struct folded), offsetof(struct folded, key),
		     sizeof(((struct folded *)0)->key));
	while ((w = ls_htab_next(&a->wait_sites, &pos))) {
		struct folded key = { .key = { w->key.tgid, w->key.tid, w->key.stack_id } }, *e;

		if (gil_by_python(a, w))
			continue;
		e = ls_htab_get(&by_stack, &key.key, NULL);
		if (!e) {
			err = -ENOMEM;
			goto cleanup;
		}
		e->wait_ns += w->wait_ns;
	}
	pos = 0;
	while ((fo = ls_htab_next(&by_stack, &pos))) {
		const struct ls_thread *t = ls_htab_find(&a->threads, &fo->key.tid);
		const struct ls_stack_entry *s = ls_stack_find(a, fo->key.tgid, fo->key.stack_id);

		if (!fo->wait_ns)
			continue;
		put_frame(f, t && t->comm[0] ? t->comm : "?");
		fprintf(f, "-%u", fo->key.tid);
		if (!s)
			fputs(";[unknown]", f);
		for (int i = s ? s->nr - 1 : -1; i >= 0; i--) {
			fputc(';', f);
			put_frame(f,
				  ls_frame_function(a, fo->key.tgid, s->ips[i], buf, sizeof(buf)));
		}
		fprintf(f, " %llu\n", (unsigned long long)fo->wait_ns);
	}
	render_python(f, a);
	if (ferror(f))
		err = -EIO;
cleanup:
	ls_htab_free(&by_stack);
	return err;
}
