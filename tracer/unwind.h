/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * record --stacks: turn the kernel's stack samples (struct ls_stack_sample) into stacks of return
 * addresses, unwound with DWARF CFI by libdw from the copied user stack (frame pointers where the
 * kernel walked them and CFI gives less), and write each distinct stack once (LS_REC_STACK),
 * then the wait's reference to it (LS_REC_WAIT_STACK). The ELF files are opened while the process
 * is alive, through /proc/TGID/root: the process may live in another mount namespace.
 */
#ifndef LS_UNWIND_H
#define LS_UNWIND_H

#include "htab.h"
#include "modes.h"
#include "trace.h"

#define LS_STACK_DUMP_DEFAULT (8 << 10)

struct ls_unwind {
	struct ls_htab procs;	/* struct uw_proc by tgid */
	struct ls_htab stacks;	/* struct uw_stack by (tgid, frames) */
	struct ls_htab threads; /* struct uw_thread by tid: samples waiting for their wait */
	__u32 next_id;
	__u64 samples, dwarf, fp, failed; /* how each sample was unwound */
};

int ls_stack_mode_parse(const char *s, enum ls_stack_mode *mode);
void ls_unwind_init(struct ls_unwind *u);
void ls_unwind_free(struct ls_unwind *u);
/*
 * A sample from the kernel: unwind it, write its stack if new, and keep the reference for the
 * wait's record. Samples come through a ring of their own, drained before the records' ring.
 */
int ls_unwind_sample(struct ls_unwind *u, struct ls_writer *w, const struct ls_stack_sample *s,
		     size_t size);
/* Before a record is written: a wait's record gets its LS_REC_WAIT_STACK first. */
int ls_unwind_before_record(struct ls_unwind *u, struct ls_writer *w, const struct ls_rec_hdr *h);
/* The process's image changed (exec) or is gone: forget its modules. */
void ls_unwind_forget(struct ls_unwind *u, __u32 tgid);
/*
 * A thread exited (LS_REC_EXIT): free what it held, and its process's libdw session (open files,
 * their data) with its last thread.
 */
void ls_unwind_exit(struct ls_unwind *u, const struct ls_exit *e);

#endif
