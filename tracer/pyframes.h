/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python stacks, read from user space: the offsets a stack walker needs for a CPython process
 * (struct ls_py_offsets, fixed-width so that a BPF program can take it as const volatile data),
 * checked against the live process; a thread's stack as (code object, instruction offset) pairs;
 * and code objects resolved to qualified name, file and line, cached by address and re-checked
 * on every use, so that a code object freed and its address reused never gets a stale name.
 * Every read goes through process_vm_readv, bounded; nothing read from the process is trusted.
 */
#ifndef LS_PYFRAMES_H
#define LS_PYFRAMES_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "lockscope.h"
#include "pyfind.h"

#define LS_PY_MAX_DEPTH 64   /* frames of one stack */
#define LS_PY_STR_MAX	256  /* a name or a file name, NUL included: longer ones are cut */
#define LS_PY_TABLE_MAX 8192 /* bytes of a line table read: lines beyond it are unknown (0) */

/* struct ls_py_offsets and its enums are in bpf/lockscope.h: the BPF walker takes them too */
_Static_assert(sizeof(struct ls_py_offsets) == 96,
	       "ls_py_offsets is shared with BPF: fixed layout");

/*
 * The offsets for the CPython that info found in process pid (3.8-3.12 from per-version tables,
 * 3.13+ from the process's _Py_DebugOffsets), checked against the process: its interpreters'
 * thread states must name live threads of pid, the main thread among them (ls_py_offsets_check).
 * 0, or -errno with why (may be NULL) saying in a sentence why Python stacks are unavailable:
 * -ENOTSUP (a version without a layout), -EINVAL (the check failed), -ESRCH (gone).
 */
int ls_py_offsets_find(pid_t pid, const struct ls_pyinfo *info, struct ls_py_offsets *off,
		       char *why, size_t why_len);

/* The check alone: 0, or -EINVAL (-errno) with why. */
int ls_py_offsets_check(pid_t pid, const struct ls_py_offsets *off, char *why, size_t why_len);

/* One frame of a stack: the code object and the instruction's byte offset in its code */
struct ls_py_frame {
	__u64 code;
	__s32 offset; /* < 0: before the first instruction */
	__u32 pad;
};

/*
 * f from a frame's code object and its instruction field as read (struct ls_py_raw_frame: f_lasti
 * of 3.8-3.10 sign-extended, or the instruction pointer of 3.11+), as ls_py_stack() makes it.
 */
void ls_py_frame_set(const struct ls_py_offsets *off, __u64 code, __u64 instr,
		     struct ls_py_frame *f);

/*
 * The Python stack of thread tid of pid, innermost first, at most max (<= LS_PY_MAX_DEPTH)
 * frames: how many (0 for a thread in no Python code), -ENOENT when no thread state names tid,
 * -EFAULT when a pointer leads nowhere (the stack changed under us), -ESRCH.
 */
int ls_py_stack(pid_t pid, const struct ls_py_offsets *off, pid_t tid, struct ls_py_frame *frames,
		int max);

/* A frame, resolved */
struct ls_py_location {
	char name[LS_PY_STR_MAX]; /* co_qualname where the version has it, else co_name */
	char file[LS_PY_STR_MAX];
	int line;	 /* 0 when the table has no line for the offset */
	int firstlineno; /* the def's */
};

/* Code objects of one process, resolved and cached. */
struct ls_py_codes;

/* A cache for pid with off (copied): NULL without memory. */
struct ls_py_codes *ls_py_codes_new(pid_t pid, const struct ls_py_offsets *off);
void ls_py_codes_free(struct ls_py_codes *c);

/*
 * Frame f resolved through the cache; the code object is read again and compared with what was
 * cached (its type, name, file, line table and first line), so that an address freed and reused
 * is resolved anew: on every use, or once per epoch where they are used (below). 0, -EINVAL (not a code object, or a string that is not one), -EFAULT, -ESRCH.
 */
int ls_py_resolve(struct ls_py_codes *c, const struct ls_py_frame *f, struct ls_py_location *loc);

/*
 * A new epoch: from the first call on, a code object is read again (and compared with what was
 * cached) on its first use in each epoch, not on every use. The recorder starts one as each drain
 * of the kernel's samples begins: a sample is resolved from what its code object held after the
 * drain began, within milliseconds of the sample, at a read per code object per drain.
 */
void ls_py_codes_epoch(struct ls_py_codes *c);

/* Line of byte offset in a line table of the given kind (exposed for tests): 0 when none. */
int ls_py_line(enum ls_py_table_kind kind, const __u8 *table, size_t len, int firstlineno,
	       int offset);

#endif /* LS_PYFRAMES_H */
