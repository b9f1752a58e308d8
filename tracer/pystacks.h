/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * record --python-stacks: per Python process, its stack offsets found and checked (pyframes.c),
 * then given to the BPF walker, and LS_REC_PY_STATUS written (or why not); the kernel's stacks
 * (struct ls_py_sample: code objects and instructions) resolved while the process runs, through
 * pyframes' re-checking cache, and written as LS_REC_PY_FUNC (each function once) and
 * LS_REC_PY_STACK. A frame that cannot be resolved is written as function 0: never a guess.
 */
#ifndef LS_PYSTACKS_H
#define LS_PYSTACKS_H

#include <stdbool.h>
#include "htab.h"
#include "pyfind.h"
#include "trace.h"

#define LS_PY_FUNCS_MAX 16384 /* functions kept (names written); beyond, frames are 0, counted */

struct lockscope_bpf;

struct ls_pystacks {
	bool on;
	struct lockscope_bpf *skel;
	__u32 sample_hz;
	struct ls_htab procs; /* struct pys_proc by tgid */
	struct ls_htab funcs; /* struct pys_func by (tgid, name, file, first line) */
	__u64 stacks, frames, unresolved, funcs_dropped;
};

void ls_pystacks_init(struct ls_pystacks *s, struct lockscope_bpf *skel, bool on, __u32 sample_hz);
void ls_pystacks_free(struct ls_pystacks *s);
/*
 * CPython found in process tgid: find and check its offsets (now, or later if its interpreter is
 * not initialised yet: info's file is then kept open, info->fd taken). 1 when its stacks are read
 * from now on (the sampler must run), 0 otherwise.
 */
int ls_pystacks_found(struct ls_pystacks *s, __u32 tgid, struct ls_pyinfo *info);
/* A process forked by one whose stacks are read: the same interpreter, the same addresses. */
int ls_pystacks_inherit(struct ls_pystacks *s, __u32 parent, __u32 child);
/* Process tgid exec'd or exited: its stacks are no longer read, its cache goes. */
void ls_pystacks_forget(struct ls_pystacks *s, __u32 tgid);
/*
 * Retry the processes whose offsets could not be checked yet, and write the LS_REC_PY_STATUS
 * records due. *enabled: processes whose stacks are read from now on. 0 or -errno.
 */
int ls_pystacks_flush(struct ls_pystacks *s, struct ls_writer *w, __u64 now, int *enabled);
/* A stack from the kernel, resolved and written. 0 or -errno of a failed write (-ENOMEM). */
int ls_pystacks_sample(struct ls_pystacks *s, struct ls_writer *w, const struct ls_py_sample *e,
		       size_t size);
/* As the recording ends: the processes still unchecked get their LS_REC_PY_STATUS, saying why. */
int ls_pystacks_finish(struct ls_pystacks *s, struct ls_writer *w);

#endif /* LS_PYSTACKS_H */
