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
#include "pyfind.h"

#define LS_PY_MAX_DEPTH 64   /* frames of one stack */
#define LS_PY_STR_MAX	256  /* a name or a file name, NUL included: longer ones are cut */
#define LS_PY_TABLE_MAX 8192 /* bytes of a line table read: lines beyond it are unknown (0) */

/* Where the current frame hangs off a thread state */
enum ls_py_frame_kind {
	LS_PY_FRAMEOBJ = 1, /* 3.8-3.10: PyFrameObject *frame, f_back, f_code, int f_lasti */
	LS_PY_CFRAME,	    /* 3.11-3.12: tstate->cframe->current_frame, a _PyInterpreterFrame */
	LS_PY_IFRAME,	    /* 3.13+: tstate->current_frame, a _PyInterpreterFrame */
};

/* What the frame's instruction field holds */
enum ls_py_lasti_kind {
	LS_PY_LASTI_BYTES = 1, /* int f_lasti, a byte offset (3.8, 3.9) */
	LS_PY_LASTI_UNITS,     /* int f_lasti, in 2-byte code units (3.10) */
	LS_PY_INSTR_PTR,       /* a pointer into the code object's co_code_adaptive (3.11+) */
};

/* The line table's format */
enum ls_py_table_kind {
	LS_PY_LNOTAB = 1, /* co_lnotab: (byte delta, line delta) pairs (3.8, 3.9) */
	LS_PY_LINETABLE,  /* co_linetable of 3.10: (byte delta, line delta or -128) pairs */
	LS_PY_LOCATIONS,  /* co_linetable of 3.11+: the location table, in code units */
};

/* How a thread state names its thread */
enum ls_py_tid_kind {
	LS_PY_TID_NATIVE = 1, /* tstate->native_thread_id, the kernel's tid (3.11+) */
	LS_PY_TID_PTHREAD, /* tstate->thread_id is a pthread_t: glibc's struct pthread, its tid at
				 pthread_tid (3.8-3.10) */
};

#define LS_PY_NONE 0xffff /* an offset that does not apply to the version */

/*
 * Everything a stack walker needs, for one interpreter version in one process. Offsets are in
 * bytes from the start of the structure named; addresses are the process's.
 */
struct ls_py_offsets {
	__u32 hexversion; /* major << 24 | minor << 16, as PY_VERSION_HEX */
	__u8 frame_kind;  /* enum ls_py_frame_kind */
	__u8 lasti_kind;  /* enum ls_py_lasti_kind */
	__u8 table_kind;  /* enum ls_py_table_kind */
	__u8 tid_kind;	  /* enum ls_py_tid_kind */
	__u64 runtime;	  /* _PyRuntime */
	__u64 code_type;  /* &PyCode_Type: a frame's code object is checked against it */
	__u64 unicode_type;
	__u64 bytes_type;
	/* _PyRuntime */
	__u16 runtime_interp_head; /* interpreters.head */
	/* PyInterpreterState */
	__u16 interp_next;
	__u16 interp_threads_head; /* tstate_head, threads.head */
	/* PyThreadState */
	__u16 tstate_next;
	__u16 tstate_tid;   /* native_thread_id, or thread_id (a pthread_t) */
	__u16 pthread_tid;  /* LS_PY_TID_PTHREAD: the tid in glibc's struct pthread */
	__u16 tstate_frame; /* frame, cframe or current_frame */
	__u16 cframe_frame; /* LS_PY_CFRAME: _PyCFrame.current_frame */
	/* the frame */
	__u16 frame_previous;
	__u16 frame_code;   /* f_code, f_executable */
	__u16 frame_lasti;  /* f_lasti, prev_instr, instr_ptr */
	__u16 frame_owner;  /* LS_PY_NONE before 3.11; a frame whose owner > owner_max is skipped */
	__u8 owner_max;	    /* the last owner that is a Python function's frame */
	__u8 code_tag_mask; /* low bits of f_executable that tag the pointer (3.14+: _PyStackRef) */
	/* PyCodeObject */
	__u16 code_name; /* co_qualname (3.11+), co_name before */
	__u16 code_filename;
	__u16 code_firstlineno;
	__u16 code_linetable; /* co_lnotab, co_linetable */
	__u16 code_adaptive;  /* co_code_adaptive (3.11+): where instruction pointers count from */
	/* objects */
	__u16 ob_type;
	__u16 var_size;	       /* PyVarObject.ob_size: a bytes object's length */
	__u16 bytes_data;      /* ob_sval */
	__u16 unicode_length;  /* in code points */
	__u16 unicode_state;   /* kind in bits 2-4, compact bit 5, ascii bit 6 */
	__u16 unicode_ascii;   /* the characters of a compact ASCII string: sizeof(PyASCIIObject) */
	__u16 unicode_compact; /* of another compact string: sizeof(PyCompactUnicodeObject) */
	__u16 pad[3];
};

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
 * is resolved anew. 0, -EINVAL (not a code object, or a string that is not one), -EFAULT, -ESRCH.
 */
int ls_py_resolve(struct ls_py_codes *c, const struct ls_py_frame *f, struct ls_py_location *loc);

/* Line of byte offset in a line table of the given kind (exposed for tests): 0 when none. */
int ls_py_line(enum ls_py_table_kind kind, const __u8 *table, size_t len, int firstlineno,
	       int offset);

#endif /* LS_PYFRAMES_H */
