// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* record --stacks: unwinding the kernel's stack samples with libdw (see unwind.h). */
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procmaps.h"
#include "safeopen.h"
#include "unwind.h"

#define UW_REFRESH_NS 50000000ULL /* re-read a process's modules at most this often */

struct uw_proc {
	__u32 tgid; /* key */
	Dwfl *dwfl; /* NULL until the first sample, and after an exec */
	bool attached;
	__u64 refreshed_ts;
	/* the sample being unwound, for the callbacks */
	const struct ls_stack_sample *cur;
	__u32 nr;
	bool truncated;
	__u64 ips[LS_STACK_MAX];
};

/* A thread's samples waiting for their wait's record, oldest first */
struct uw_thread {
	__u32 tid; /* key */
	__u32 head, nr, cap;
	struct uw_ref {
		__u64 ts;
		__u32 stack_id;
	} * refs;
};

struct uw_stack {
	struct {
		__u32 tgid;
		__u32 nr;
		__u64 ips[LS_STACK_MAX];
	} key;
	__u32 id;
};

static const struct {
	const char *name;
	enum ls_stack_mode mode;
} stack_modes[] = {
	{ "dwarf", LS_STACKS_DWARF },
	{ "fp", LS_STACKS_FP },
	{ "off", LS_STACKS_OFF },
};

int ls_stack_mode_parse(const char *s, enum ls_stack_mode *mode)
{
	for (size_t i = 0; i < sizeof(stack_modes) / sizeof(stack_modes[0]); i++) {
		if (!strcmp(s, stack_modes[i].name)) {
			*mode = stack_modes[i].mode;
			return 0;
		}
	}
	return -EINVAL;
}

void ls_unwind_init(struct ls_unwind *u)
{
	memset(u, 0, sizeof(*u));
	ls_htab_init(&u->procs, sizeof(struct uw_proc), offsetof(struct uw_proc, tgid),
		     sizeof(__u32));
	ls_htab_init(&u->stacks, sizeof(struct uw_stack), offsetof(struct uw_stack, key),
		     sizeof(((struct uw_stack *)0)->key));
	ls_htab_init(&u->threads, sizeof(struct uw_thread), offsetof(struct uw_thread, tid),
		     sizeof(__u32));
}

void ls_unwind_forget(struct ls_unwind *u, __u32 tgid)
{
	struct uw_proc *p = ls_htab_find(&u->procs, &tgid);

	if (p && p->dwfl) {
		dwfl_end(p->dwfl);
		p->dwfl = NULL;
		p->attached = false;
	}
}

void ls_unwind_exit(struct ls_unwind *u, const struct ls_exit *e)
{
	struct uw_thread *t = u->threads.nr ? ls_htab_find(&u->threads, &e->hdr.tid) : NULL;

	/* its waits' records came before its exit: samples still queued have no wait left */
	if (t) {
		free(t->refs);
		t->refs = NULL;
		t->head = t->nr = t->cap = 0;
	}
	if (e->flags & LS_EXIT_GROUP_DEAD)
		ls_unwind_forget(u, e->tgid);
}

void ls_unwind_free(struct ls_unwind *u)
{
	struct uw_thread *t;
	struct uw_proc *p;
	size_t pos = 0;

	while ((p = ls_htab_next(&u->procs, &pos)))
		if (p->dwfl)
			dwfl_end(p->dwfl);
	pos = 0;
	while ((t = ls_htab_next(&u->threads, &pos)))
		free(t->refs);
	ls_htab_free(&u->threads);
	ls_htab_free(&u->procs);
	ls_htab_free(&u->stacks);
}

/*
 * Every ELF file the process maps, placed at its first mapping, opened through its root. libdw
 * gets the descriptor, never the path: the process could put a FIFO there (the open would block
 * the recorder, -d with it) or another file.
 */
static void report_modules(struct uw_proc *p, __u64 now)
{
	struct ls_maps_line *lines;
	char *text;
	size_t nr;
	int fd;

	p->refreshed_ts = now;
	if (ls_procmaps_read(p->tgid, &text, &lines, &nr))
		return;
	dwfl_report_begin(p->dwfl);
	for (size_t i = 0; i < nr; i++) {
		if (!ls_maps_line_file_start(&lines[i]) || strstr(lines[i].path, " (deleted)"))
			continue;
		fd = ls_open_mapped(p->tgid, lines[i].start, lines[i].end, lines[i].path,
				    lines[i].inode);
		if (fd < 0)
			continue;
		/* not an ELF file (a font, the locale archive): libdw says no; the fd is ours again */
		if (!dwfl_report_elf(p->dwfl, lines[i].path, lines[i].path, fd, lines[i].start,
				     false))
			close(fd);
	}
	dwfl_report_end(p->dwfl, NULL, NULL);
	free(lines);
	free(text);
}

static pid_t uw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct uw_proc *p = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = p;
	return p->cur->hdr.tid;
}

/* Only the copy of the stack is memory here: the thread has moved on since. */
static bool uw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	const struct ls_stack_sample *s = ((struct uw_proc *)arg)->cur;

	(void)dwfl;
	for (__u32 i = 0; i < s->nr_uret && i < LS_URET_MAX; i++) {
		if (addr == s->uret_slot[i]) {
			*result = s->uret_ip[i];
			return true;
		}
	}
	if (addr < s->dump_base || addr - s->dump_base + sizeof(*result) > s->dump_size)
		return false;
	memcpy(result, s->dump + (addr - s->dump_base), sizeof(*result));
	return true;
}

/* DWARF numbers of x86-64's registers: rbx 3, rbp 6, rsp 7, r12-r15 12-15, rip 16 */
static bool uw_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const __u64 *r = ((struct uw_proc *)arg)->cur->regs;
	Dwarf_Word bx = r[LS_UREG_BX];
	Dwarf_Word bp_sp[] = { r[LS_UREG_BP], r[LS_UREG_SP] };
	Dwarf_Word r12_ip[] = { r[LS_UREG_R12], r[LS_UREG_R13], r[LS_UREG_R14], r[LS_UREG_R15],
				r[LS_UREG_IP] };

	return dwfl_thread_state_registers(thread, 3, 1, &bx) &&
	       dwfl_thread_state_registers(thread, 6, 2, bp_sp) &&
	       dwfl_thread_state_registers(thread, 12, 5, r12_ip);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = uw_next_thread,
	.memory_read = uw_memory_read,
	.set_initial_registers = uw_set_initial_registers,
};

/*
 * Every module is reported with its descriptor, and the CFI is in the file itself (.eh_frame, or
 * .debug_frame where it was built with -g): libdw is to open nothing by name, neither the
 * module (find_elf) nor separate debug info by a .gnu_debuglink that the process's file names.
 */
static int uw_find_nothing(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			   const char *file_name, const char *debuglink_file,
			   GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	return -1;
}

static int uw_find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  char **file_name, Elf **elfp)
{
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = uw_find_no_elf,
	.find_debuginfo = uw_find_nothing,
};

static int uw_frame(Dwfl_Frame *state, void *arg)
{
	struct uw_proc *p = arg;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(state, &pc, NULL) || !pc)
		return DWARF_CB_ABORT;
	if (p->nr == LS_STACK_MAX) {
		p->truncated = true;
		return DWARF_CB_ABORT;
	}
	p->ips[p->nr++] = pc;
	return DWARF_CB_OK;
}

/* The process's modules, up to date for s: false when the process cannot be read. */
static bool modules_ready(struct uw_proc *p, const struct ls_stack_sample *s)
{
	if (!p->dwfl) {
		p->dwfl = dwfl_begin(&dwfl_callbacks);
		if (!p->dwfl)
			return false;
		report_modules(p, s->ts);
	} else if (!dwfl_addrmodule(p->dwfl, s->regs[LS_UREG_IP]) &&
		   s->ts - p->refreshed_ts > UW_REFRESH_NS) {
		report_modules(p, s->ts); /* dlopen since */
	}
	return true;
}

/* The frames of s into p->ips, by CFI; 0 frames when the process cannot be read. */
static void unwind_dwarf(struct uw_proc *p, const struct ls_stack_sample *s)
{
	if (!modules_ready(p, s))
		return;
	if (!p->attached)
		p->attached = dwfl_attach_state(p->dwfl, NULL, p->tgid, &thread_callbacks, p);
	if (!p->attached)
		return;
	/* an error ends the walk where CFI ends (thread start, a frame without CFI): keep it */
	dwfl_getthread_frames(p->dwfl, s->hdr.tid, uw_frame, p);
}

static int write_stack(struct ls_writer *w, const struct uw_stack *st, __u16 flags)
{
	union {
		struct ls_stack s;
		char buf[sizeof(struct ls_stack) + LS_STACK_MAX * sizeof(__u64)];
	} rec;
	size_t size = sizeof(rec.s) + st->key.nr * sizeof(__u64);

	rec.s.hdr = (struct ls_rec_hdr){ LS_REC_STACK, size, st->key.tgid };
	rec.s.id = st->id;
	rec.s.nr = st->key.nr;
	rec.s.flags = flags;
	memcpy(rec.s.ips, st->key.ips, st->key.nr * sizeof(__u64));
	return ls_writer_put(w, &rec, size);
}

/* Queue the reference for the wait's record, which comes from the other ring. */
static int push_ref(struct ls_unwind *u, __u32 tid, __u64 ts, __u32 stack_id)
{
	struct uw_thread *t = ls_htab_get(&u->threads, &tid, NULL);
	struct uw_ref *refs;

	if (!t)
		return -ENOMEM;
	if (t->nr == t->cap) {
		__u32 cap = t->cap ? t->cap * 2 : 64;

		refs = malloc(cap * sizeof(*refs));
		if (!refs)
			return -ENOMEM;
		for (__u32 i = 0; i < t->nr; i++)
			refs[i] = t->refs[(t->head + i) % t->cap];
		free(t->refs);
		t->refs = refs;
		t->cap = cap;
		t->head = 0;
	}
	t->refs[(t->head + t->nr++) % t->cap] = (struct uw_ref){ ts, stack_id };
	return 0;
}

int ls_unwind_before_record(struct ls_unwind *u, struct ls_writer *w, const struct ls_rec_hdr *h)
{
	struct ls_wait_stack ref = { .hdr = { LS_REC_WAIT_STACK, sizeof(ref), h->tid } };
	struct uw_thread *t;
	__u64 enter, exit;

	if (h->type == LS_REC_FUTEX_WAIT) {
		enter = ((const struct ls_futex *)h)->ts_enter;
		exit = ((const struct ls_futex *)h)->ts_exit;
	} else if (h->type == LS_REC_FUTEX_WAITV) {
		enter = ((const struct ls_futex_waitv *)h)->ts_enter;
		exit = ((const struct ls_futex_waitv *)h)->ts_exit;
	} else {
		return 0;
	}
	t = u->threads.nr ? ls_htab_find(&u->threads, &h->tid) : NULL;
	if (!t)
		return 0;
	/* older samples lost their wait's record, or came after it: no wait to give them to */
	while (t->nr && t->refs[t->head].ts < enter) {
		t->head = (t->head + 1) % t->cap;
		t->nr--;
	}
	if (!t->nr || t->refs[t->head].ts > exit)
		return 0;
	ref.ts = t->refs[t->head].ts;
	ref.stack_id = t->refs[t->head].stack_id;
	t->head = (t->head + 1) % t->cap;
	t->nr--;
	return ls_writer_put(w, &ref, sizeof(ref));
}

int ls_unwind_sample(struct ls_unwind *u, struct ls_writer *w, const struct ls_stack_sample *s,
		     size_t size)
{
	struct uw_stack key = { .key.tgid = s->tgid }, *st;
	struct uw_proc *p;
	__u16 flags = 0;
	bool created;
	int err;

	if (size < sizeof(*s) || s->nr_ips > LS_STACK_FP_MAX || s->dump_size > size - sizeof(*s))
		return 0;
	u->samples++;
	p = ls_htab_get(&u->procs, &s->tgid, NULL);
	if (!p)
		return -ENOMEM;
	p->cur = s;
	p->nr = 0;
	p->truncated = false;
	if (s->dump_size)
		unwind_dwarf(p, s);
	if (p->nr > 1 || p->nr >= s->nr_ips) {
		flags = LS_STACK_DWARF | (p->truncated ? LS_STACK_TRUNCATED : 0);
		key.key.nr = p->nr;
		memcpy(key.key.ips, p->ips, p->nr * sizeof(__u64));
	} else {
		/*
		 * No CFI to go by (or no copy): the kernel's frame-pointer walk is all there is. Where
		 * code has no frame pointers it walks into data: stop at the first address outside
		 * every module, or no two such stacks would be alike.
		 */
		bool mods = s->nr_ips > 1 && modules_ready(p, s);

		flags = LS_STACK_FP;
		for (key.key.nr = 0; key.key.nr < s->nr_ips; key.key.nr++) {
			if (key.key.nr && mods && !dwfl_addrmodule(p->dwfl, s->ips[key.key.nr]))
				break;
			key.key.ips[key.key.nr] = s->ips[key.key.nr];
		}
	}
	if (!key.key.nr) {
		u->failed++;
		return 0;
	}
	if (flags & LS_STACK_DWARF)
		u->dwarf++;
	else
		u->fp++;
	st = ls_htab_get(&u->stacks, &key.key, &created);
	if (!st)
		return -ENOMEM;
	if (created) {
		st->id = ++u->next_id;
		err = write_stack(w, st, flags);
		if (err)
			return err;
	}
	return push_ref(u, s->hdr.tid, s->ts, st->id);
}
