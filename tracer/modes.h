/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the user chooses for record: --gil and --stacks. Apart from python.h and unwind.h, which
 * bring libbpf and the recorder's tables, so that record.h's options can hold them as they are.
 */
#ifndef LS_MODES_H
#define LS_MODES_H

/* --gil; how each GIL was then followed is its enum ls_gil_source, in the trace */
enum ls_gil_mode {
	LS_GIL_AUTO,   /* futex inference and sampling: cheap on every interpreter */
	LS_GIL_PROBES, /* probes, exact; where there are no symbols, say so and infer */
	LS_GIL_FUTEX,  /* the same as auto, by its old name */
	LS_GIL_OFF,
};

/* --stacks */
enum ls_stack_mode {
	LS_STACKS_OFF,
	LS_STACKS_DWARF, /* copy the user stack; CFI, falling back to frame pointers */
	LS_STACKS_FP,	 /* frame pointers only: cheapest, for programs built with them */
};

#endif /* LS_MODES_H */
