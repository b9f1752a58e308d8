// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python stacks from user space (see pyframes.h). The layouts of 3.8-3.12 come from CPython's
 * headers, one table per version; 3.13+ describe themselves in _Py_DebugOffsets at the start of
 * _PyRuntime. Either way the result is checked against the process before it is used, and every
 * object read is checked against its type (PyCode_Type, PyUnicode_Type, PyBytes_Type).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elffile.h"
#include "htab.h"
#include "pyframes.h"

#define MAX_INTERPS	  16
#define MAX_TSTATES	  4096 /* thread states followed, over all interpreters */
#define MAX_TASKS	  4096
#define CACHE_MAX	  65536 /* code objects cached: beyond, the cache starts over */
#define CHECK_TRIES	  3	/* a thread born or gone between our two reads: look again */
#define PTHREAD_SELF	  16	/* glibc's tcbhead_t: tcb at 0, dtv at 8, self at 16 */
/*
 * glibc's struct pthread (nptl/descr.h), x86-64: tcbhead_t (704 bytes), list_t list, then pid_t
 * tid. Checked on each thread: its pthread_t must point at itself (tcb and self), its tid must
 * be one of the process's threads.
 */
#define GLIBC_PTHREAD_TID 0x2d0

/* Unicode state bits, the same in 3.8-3.15 (cpython/unicodeobject.h): interned:2, kind:3, ... */
#define STATE_KIND(s)	 (((s) >> 2) & 7)
#define STATE_COMPACT(s) (((s) >> 5) & 1)
#define STATE_ASCII(s)	 (((s) >> 6) & 1)

static void say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static int rd(pid_t pid, __u64 addr, void *buf, size_t len)
{
	if (!addr)
		return -EFAULT;
	return ls_pyfind_read(pid, addr, buf, len);
}

static int rd64(pid_t pid, __u64 addr, __u64 *v)
{
	return rd(pid, addr, v, sizeof(*v));
}

/* --- the per-version tables, 3.8-3.12 --- */

/*
 * x86-64 offsets of the fields we follow, as the compiler lays out the structures of:
 * 3.8:  Include/internal/pycore_pystate.h (_PyRuntimeState, struct _is), Include/cpython/pystate.h
 *       (struct _ts), Include/frameobject.h (struct _frame), Include/code.h (PyCodeObject) of v3.8
 * 3.9:  the same headers of v3.9; frame and code in Include/cpython/frameobject.h and code.h
 * 3.10: those of v3.10; co_lnotab is replaced by co_linetable, f_lasti counts code units
 * 3.11: Include/internal/pycore_runtime.h, pycore_interp.h (threads.head), pycore_frame.h
 *       (_PyInterpreterFrame, _PyCFrame), Include/cpython/pystate.h, cpython/code.h of v3.11
 * 3.12: the same headers of v3.12 (_PyCFrame has lost use_tracing; f_code is first)
 * Strings: Include/cpython/unicodeobject.h (PyASCIIObject lost wstr in 3.12), bytesobject.h.
 * Each was checked against the DWARF of pyenv's 3.8.18, 3.9.18, 3.10.13, 3.11.7 and 3.12.1.
 */
struct table {
	unsigned char minor;
	struct ls_py_offsets o;
};

#define STRINGS_38                                                                                 \
	.ob_type = 8, .var_size = 16, .bytes_data = 32, .unicode_length = 16, .unicode_state = 32, \
	.unicode_ascii = 48, .unicode_compact = 72
#define STRINGS_312                                                                                \
	.ob_type = 8, .var_size = 16, .bytes_data = 32, .unicode_length = 16, .unicode_state = 32, \
	.unicode_ascii = 40, .unicode_compact = 56
#define FRAMEOBJ_38                                                                                \
	.frame_kind = LS_PY_FRAMEOBJ, .tid_kind = LS_PY_TID_PTHREAD, .runtime_interp_head = 32,    \
	.interp_next = 0, .interp_threads_head = 8, .tstate_next = 8, .tstate_tid = 176,           \
	.pthread_tid = GLIBC_PTHREAD_TID, .tstate_frame = 24, .cframe_frame = LS_PY_NONE,          \
	.frame_previous = 24, .frame_code = 32, .frame_owner = LS_PY_NONE, .code_name = 112,       \
	.code_filename = 104, .code_firstlineno = 40, .code_linetable = 120,                       \
	.code_adaptive = LS_PY_NONE, STRINGS_38

static const struct table tables[] = {
	{ 8,
	  { FRAMEOBJ_38, .lasti_kind = LS_PY_LASTI_BYTES, .table_kind = LS_PY_LNOTAB,
	    .frame_lasti = 104 } },
	{ 9,
	  { FRAMEOBJ_38, .lasti_kind = LS_PY_LASTI_BYTES, .table_kind = LS_PY_LNOTAB,
	    .frame_lasti = 104 } },
	{ 10,
	  { FRAMEOBJ_38, .lasti_kind = LS_PY_LASTI_UNITS, .table_kind = LS_PY_LINETABLE,
	    .frame_lasti = 96 } },
	{ 11,
	  { .frame_kind = LS_PY_CFRAME,
	    .lasti_kind = LS_PY_INSTR_PTR,
	    .table_kind = LS_PY_LOCATIONS,
	    .tid_kind = LS_PY_TID_NATIVE,
	    .runtime_interp_head = 40,
	    .interp_next = 0,
	    .interp_threads_head = 16,
	    .tstate_next = 8,
	    .tstate_tid = 160,
	    .pthread_tid = LS_PY_NONE,
	    .tstate_frame = 56,
	    .cframe_frame = 8,
	    .frame_previous = 48,
	    .frame_code = 32,
	    .frame_lasti = 56,
	    .frame_owner = 69,
	    .owner_max = 2,
	    .code_name = 128,
	    .code_filename = 112,
	    .code_firstlineno = 72,
	    .code_linetable = 136,
	    .code_adaptive = 184,
	    STRINGS_38 } },
	{ 12,
	  { .frame_kind = LS_PY_CFRAME,
	    .lasti_kind = LS_PY_INSTR_PTR,
	    .table_kind = LS_PY_LOCATIONS,
	    .tid_kind = LS_PY_TID_NATIVE,
	    .runtime_interp_head = 40,
	    .interp_next = 0,
	    .interp_threads_head = 72,
	    .tstate_next = 8,
	    .tstate_tid = 144,
	    .pthread_tid = LS_PY_NONE,
	    .tstate_frame = 56,
	    .cframe_frame = 0,
	    .frame_previous = 8,
	    .frame_code = 0,
	    .frame_lasti = 56,
	    .frame_owner = 70,
	    .owner_max = 2,
	    .code_name = 128,
	    .code_filename = 112,
	    .code_firstlineno = 68,
	    .code_linetable = 136,
	    .code_adaptive = 192,
	    STRINGS_312 } },
};

/* --- _Py_DebugOffsets, 3.13+ --- */

/*
 * Where the fields we use are in _Py_DebugOffsets, counted in u64s. Each part starts with the
 * size of the structure it describes; the check below holds every offset to it.
 * 3.13: struct _Py_DebugOffsets in Include/internal/pycore_runtime.h of v3.13.0.
 * 3.14: Include/internal/pycore_debug_offsets.h of the 3.14 branch: interpreter_state gains
 *       threads_main (and, by 3.14.0, code_object_generation and tlbc_generation),
 *       interpreter_frame stackpointer and tlbc_index, code_object co_tlbc, and set_object
 *       comes before dict_object.
 * 3.15: 3.14's, with thread_state grown to 15 fields (base_frame, last_profiled_frame and one
 *       more before thread_id; holds_gil, gil_requested, current_exception, exc_state after
 *       _status) and err_stackitem after it. The 3.15 header was not at hand: this is read off
 *       Debian's 3.15.2, where each part's size bounds its fields, and the live check must pass.
 *       Its strings are taken from the 3.12+ headers, as 3.13 and 3.14 describe them.
 */
struct dbg_layout {
	unsigned char minor;
	unsigned char rt_size, interp_head;
	unsigned char is_size, is_next, is_threads;
	unsigned char ts_size, ts_next, ts_frame, ts_tid;
	unsigned char fr_size, fr_previous, fr_code, fr_instr, fr_owner;
	unsigned char co_size, co_filename, co_qualname, co_linetable, co_firstlineno, co_adaptive;
	unsigned char ob_type;
	unsigned char by_size, by_ob_size, by_sval; /* 0: the 3.12+ headers' */
	unsigned char un_size, un_state, un_length, un_ascii_size;
	unsigned char code_tag_mask;
};

static const struct dbg_layout dbg_layouts[] = {
	{ 13, 3,  5,  6,  8,  9,  19, 21, 23, 25, 28, 29, 30, 31, 33,
	  34, 35, 37, 38, 39, 43, 45, 64, 65, 66, 67, 68, 69, 70, 0 },
	/* f_executable is a _PyStackRef from 3.14: its low bits tag it (pycore_stackref.h) */
	{ 14, 3,  5,  6,  8,  9,  22, 24, 26, 28, 31, 32, 33, 34, 36,
	  39, 40, 42, 43, 44, 48, 51, 74, 75, 76, 77, 78, 79, 80, 3 },
	{ 15, 3,  5,  6,  8,  9,  22, 24, 26, 31, 39, 40, 41, 42, 44,
	  47, 48, 50, 51, 52, 56, 59, 0,  0,  0,  0,  0,  0,  0,  3 },
};

#define DBG_WORDS 96

/* v is an offset of a field of w bytes inside a structure of size bytes, and fits our u16 */
static bool field(__u64 v, __u64 w, __u64 size)
{
	return v < 0xffff && size && v <= size && w <= size - v;
}

static int from_debug_offsets(pid_t pid, const struct ls_pyinfo *info, struct ls_py_offsets *o,
			      char *why, size_t why_len)
{
	const struct dbg_layout *l = NULL;
	__u64 d[DBG_WORDS];
	int err;

	for (size_t i = 0; i < sizeof(dbg_layouts) / sizeof(dbg_layouts[0]); i++)
		if (dbg_layouts[i].minor == info->minor)
			l = &dbg_layouts[i];
	if (!l) {
		say(why, why_len, "no layout of _Py_DebugOffsets for Python %d.%d", info->major,
		    info->minor);
		return -ENOTSUP;
	}
	if (info->runtime_size && info->runtime_size < sizeof(d)) {
		say(why, why_len, "_PyRuntime is too small to hold _Py_DebugOffsets");
		return -EINVAL;
	}
	err = rd(pid, info->runtime_addr, d, sizeof(d));
	if (err) {
		say(why, why_len, "cannot read _PyRuntime at %#llx: %s",
		    (unsigned long long)info->runtime_addr, strerror(-err));
		return err;
	}
	if (memcmp(d, "xdebugpy", 8) || ((d[1] >> 16) & 0xffff) != (0x300u | info->minor)) {
		say(why, why_len, "no _Py_DebugOffsets of Python 3.%d at the start of _PyRuntime",
		    info->minor);
		return -EINVAL;
	}
	if (d[2]) {
		say(why, why_len, "a free-threaded build: its stacks are not followed yet");
		return -ENOTSUP;
	}
	if ((info->runtime_size && d[l->rt_size] != info->runtime_size) ||
	    !field(d[l->interp_head], 8, d[l->rt_size]) ||
	    !field(d[l->is_next], 8, d[l->is_size]) || !field(d[l->is_threads], 8, d[l->is_size]) ||
	    !field(d[l->ts_next], 8, d[l->ts_size]) || !field(d[l->ts_frame], 8, d[l->ts_size]) ||
	    !field(d[l->ts_tid], 8, d[l->ts_size]) || !field(d[l->fr_previous], 8, d[l->fr_size]) ||
	    !field(d[l->fr_code], 8, d[l->fr_size]) || !field(d[l->fr_instr], 8, d[l->fr_size]) ||
	    !field(d[l->fr_owner], 1, d[l->fr_size]) ||
	    !field(d[l->co_filename], 8, d[l->co_size]) ||
	    !field(d[l->co_qualname], 8, d[l->co_size]) ||
	    !field(d[l->co_linetable], 8, d[l->co_size]) ||
	    !field(d[l->co_firstlineno], 4, d[l->co_size]) ||
	    !field(d[l->co_adaptive], 2, d[l->co_size]) || d[l->ob_type] != 8) {
		say(why, why_len, "_Py_DebugOffsets of Python 3.%d do not read as its layout",
		    info->minor);
		return -EINVAL;
	}
	o->frame_kind = LS_PY_IFRAME;
	o->lasti_kind = LS_PY_INSTR_PTR;
	o->table_kind = LS_PY_LOCATIONS;
	o->tid_kind = LS_PY_TID_NATIVE;
	o->runtime_interp_head = d[l->interp_head];
	o->interp_next = d[l->is_next];
	o->interp_threads_head = d[l->is_threads];
	o->tstate_next = d[l->ts_next];
	o->tstate_tid = d[l->ts_tid];
	o->pthread_tid = LS_PY_NONE;
	o->tstate_frame = d[l->ts_frame];
	o->cframe_frame = LS_PY_NONE;
	o->frame_previous = d[l->fr_previous];
	o->frame_code = d[l->fr_code];
	o->frame_lasti = d[l->fr_instr];
	o->frame_owner = d[l->fr_owner];
	o->owner_max = 2; /* THREAD, GENERATOR, FRAME_OBJECT; then CSTACK, INTERPRETER */
	o->code_tag_mask = l->code_tag_mask;
	o->code_name = d[l->co_qualname];
	o->code_filename = d[l->co_filename];
	o->code_firstlineno = d[l->co_firstlineno];
	o->code_linetable = d[l->co_linetable];
	o->code_adaptive = d[l->co_adaptive];
	o->ob_type = d[l->ob_type];
	/* PyBytesObject and PyASCIIObject as the 3.12+ headers have them, unless described */
	o->var_size = 16;
	o->bytes_data = 32;
	o->unicode_length = 16;
	o->unicode_state = 32;
	o->unicode_ascii = 40;
	if (l->by_size) {
		if (!field(d[l->by_ob_size], 8, d[l->by_size]) ||
		    d[l->by_sval] != d[l->by_size] - 8 ||
		    !field(d[l->un_state], 4, d[l->un_size]) ||
		    !field(d[l->un_length], 8, d[l->un_size]) ||
		    !field(d[l->un_ascii_size], 0, d[l->un_size])) {
			say(why, why_len,
			    "_Py_DebugOffsets of Python 3.%d: strings do not read right",
			    info->minor);
			return -EINVAL;
		}
		o->var_size = d[l->by_ob_size];
		o->bytes_data = d[l->by_sval];
		o->unicode_length = d[l->un_length];
		o->unicode_state = d[l->un_state];
		o->unicode_ascii = d[l->un_ascii_size];
	}
	/* PyCompactUnicodeObject: PyASCIIObject, then utf8_length and utf8 */
	o->unicode_compact = o->unicode_ascii + 16;
	return 0;
}

/* --- the type objects, from the interpreter's ELF file --- */

static int find_types(const struct ls_pyinfo *info, struct ls_py_offsets *o, char *why,
		      size_t why_len)
{
	static const char *const names[] = { "PyCode_Type", "PyUnicode_Type", "PyBytes_Type" };
	__u64 *addrs[] = { &o->code_type, &o->unicode_type, &o->bytes_type };
	struct ls_elf_syms *syms = NULL;
	struct ls_elf *elf = NULL;
	int fd = -1, err;

	if (info->fd < 0) {
		say(why, why_len, "the interpreter's file is not open");
		return -EBADF;
	}
	fd = fcntl(info->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		say(why, why_len, "cannot duplicate the interpreter's descriptor: %s",
		    strerror(-err));
		return err;
	}
	err = ls_elf_open(&elf, fd);
	if (err) {
		say(why, why_len, "cannot read %s as ELF: %s", info->path, strerror(-err));
		goto cleanup;
	}
	err = ls_elf_syms_read(elf, LS_ELF_DYNSYM, 0, &syms);
	if (err) {
		say(why, why_len, "%s has no dynamic symbols: %s", info->path, strerror(-err));
		goto cleanup;
	}
	for (int i = 0; i < 3; i++) {
		const struct ls_elf_sym *s = ls_elf_sym_named(syms, names[i]);

		if (!s || !s->value) {
			say(why, why_len, "%s does not export %s", info->path, names[i]);
			err = -ENOENT;
			goto cleanup;
		}
		*addrs[i] = s->value + info->load_bias;
	}
cleanup:
	ls_elf_syms_free(syms);
	ls_elf_close(elf);
	if (fd >= 0)
		close(fd);
	return err;
}

/* --- the thread states --- */

/* The threads of pid, sorted: how many (at most max), or -errno. */
static int read_tasks(pid_t pid, pid_t *tids, int max)
{
	struct dirent *de;
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while (n < max && (de = readdir(d))) {
		long t = strtol(de->d_name, NULL, 10);

		if (t > 0)
			tids[n++] = t;
	}
	closedir(d);
	return n;
}

static bool has_tid(const pid_t *tids, int n, pid_t tid)
{
	for (int i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* The kernel's tid of the thread state at ts: 0 when it names none yet, -errno. */
static int tstate_tid(pid_t pid, const struct ls_py_offsets *o, __u64 ts, pid_t *tid)
{
	__u64 v, self[3];
	__s32 t;
	int err;

	*tid = 0;
	err = rd64(pid, ts + o->tstate_tid, &v);
	if (err || !v)
		return err;
	if (o->tid_kind == LS_PY_TID_NATIVE) {
		if (v > 0x7fffffff)
			return -EINVAL;
		*tid = v;
		return 0;
	}
	/* a pthread_t: glibc's struct pthread, which starts with pointers to itself */
	err = rd(pid, v, self, sizeof(self));
	if (err)
		return err;
	if (self[0] != v || self[PTHREAD_SELF / 8] != v)
		return -EINVAL;
	err = rd(pid, v + o->pthread_tid, &t, sizeof(t));
	if (err)
		return err;
	if (t <= 0)
		return -EINVAL;
	*tid = t;
	return 0;
}

/*
 * Visit every thread state of every interpreter: fn returns non-zero to stop (that value is
 * returned). -EFAULT (-errno) when a pointer leads nowhere, -ELOOP when the list does not end.
 */
static int each_tstate(pid_t pid, const struct ls_py_offsets *o,
		       int (*fn)(void *ctx, __u64 ts, pid_t tid), void *ctx)
{
	int n = 0, err;
	__u64 interp, ts;
	pid_t tid;

	err = rd64(pid, o->runtime + o->runtime_interp_head, &interp);
	if (err)
		return err;
	for (int i = 0; interp; i++) {
		if (i == MAX_INTERPS)
			return -ELOOP;
		err = rd64(pid, interp + o->interp_threads_head, &ts);
		if (err)
			return err;
		for (; ts; n++) {
			if (n == MAX_TSTATES)
				return -ELOOP;
			err = tstate_tid(pid, o, ts, &tid);
			if (err)
				return err;
			err = fn(ctx, ts, tid);
			if (err)
				return err;
			err = rd64(pid, ts + o->tstate_next, &ts);
			if (err)
				return err;
		}
		err = rd64(pid, interp + o->interp_next, &interp);
		if (err)
			return err;
	}
	return 0;
}

struct check {
	pid_t *tids;
	int nr_tids;
	pid_t pid;
	int named, stray; /* thread states naming one of tids; naming none of them */
	pid_t stray_tid;
	bool main_seen;
};

static int check_one(void *ctx, __u64 ts, pid_t tid)
{
	struct check *c = ctx;

	if (!tid)
		return 0; /* created, not started yet */
	if (has_tid(c->tids, c->nr_tids, tid)) {
		c->named++;
		c->main_seen |= tid == c->pid;
	} else {
		c->stray++;
		c->stray_tid = tid;
	}
	return 0;
}

int ls_py_offsets_check(pid_t pid, const struct ls_py_offsets *o, char *why, size_t why_len)
{
	struct check c = { .pid = pid };
	int err = 0;

	c.tids = calloc(MAX_TASKS, sizeof(*c.tids));
	if (!c.tids)
		return -ENOMEM;
	for (int try = 0; try < CHECK_TRIES; try++) {
		c.nr_tids = read_tasks(pid, c.tids, MAX_TASKS);
		if (c.nr_tids < 0) {
			err = c.nr_tids;
			say(why, why_len, "cannot list the threads of %d: %s", (int)pid,
			    strerror(-err));
			goto cleanup;
		}
		c.named = c.stray = 0;
		c.main_seen = false;
		err = each_tstate(pid, o, check_one, &c);
		if (!err && !c.stray && c.named &&
		    (c.main_seen || !has_tid(c.tids, c.nr_tids, pid)))
			goto cleanup;
	}
	if (err == -ESRCH)
		say(why, why_len, "process %d is gone", (int)pid);
	else if (err)
		say(why, why_len, "the interpreter's thread list cannot be followed: %s",
		    strerror(-err));
	else if (c.stray)
		say(why, why_len, "a thread state names thread %d, which process %d does not have",
		    (int)c.stray_tid, (int)pid);
	else if (!c.named)
		say(why, why_len, "no thread state names a thread of process %d", (int)pid);
	else
		say(why, why_len, "no thread state names the main thread of process %d", (int)pid);
	if (err != -ESRCH)
		err = -EINVAL;
cleanup:
	free(c.tids);
	return err;
}

int ls_py_offsets_find(pid_t pid, const struct ls_pyinfo *info, struct ls_py_offsets *o, char *why,
		       size_t why_len)
{
	int err = -ENOTSUP;

	memset(o, 0, sizeof(*o));
	say(why, why_len, "%s", "");
	if (info->major != 3 || !info->runtime_addr) {
		say(why, why_len, "not a CPython 3 process whose _PyRuntime was found");
		return -EINVAL;
	}
	if (info->free_threaded) {
		say(why, why_len, "a free-threaded build: its stacks are not followed yet");
		return -ENOTSUP;
	}
	if (info->minor >= 13) {
		err = from_debug_offsets(pid, info, o, why, why_len);
	} else {
		for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
			if (tables[i].minor == info->minor) {
				*o = tables[i].o;
				err = 0;
			}
		}
		if (err)
			say(why, why_len, "no table of offsets for Python %d.%d", info->major,
			    info->minor);
	}
	if (err)
		return err;
	o->hexversion = 3u << 24 | (__u32)info->minor << 16;
	o->runtime = info->runtime_addr;
	err = find_types(info, o, why, why_len);
	if (err)
		return err;
	return ls_py_offsets_check(pid, o, why, why_len);
}

/* --- a thread's stack --- */

struct find_tid {
	pid_t tid;
	__u64 ts;
};

static int find_one(void *ctx, __u64 ts, pid_t tid)
{
	struct find_tid *f = ctx;

	if (tid != f->tid)
		return 0;
	f->ts = ts;
	return 1;
}

/* Is obj an instance of type (at that address)? */
static int is_a(pid_t pid, const struct ls_py_offsets *o, __u64 obj, __u64 type)
{
	__u64 t;
	int err = rd64(pid, obj + o->ob_type, &t);

	if (err)
		return err;
	return t == type ? 0 : -EINVAL;
}

/* The code object and instruction offset of the frame at fr: 0, or -EINVAL when not Python's */
static int read_frame(pid_t pid, const struct ls_py_offsets *o, __u64 fr, struct ls_py_frame *f)
{
	__u64 code, instr;
	__s32 lasti;
	__u8 owner;
	int err;

	if (o->frame_owner != LS_PY_NONE) {
		err = rd(pid, fr + o->frame_owner, &owner, 1);
		if (err)
			return err;
		if (owner > o->owner_max)
			return -EINVAL;
	}
	err = rd64(pid, fr + o->frame_code, &code);
	if (err)
		return err;
	code &= ~(__u64)o->code_tag_mask;
	err = is_a(pid, o, code, o->code_type);
	if (err)
		return err;
	if (o->lasti_kind == LS_PY_INSTR_PTR) {
		err = rd64(pid, fr + o->frame_lasti, &instr);
	} else {
		err = rd(pid, fr + o->frame_lasti, &lasti, sizeof(lasti));
		instr = (__s64)lasti;
	}
	if (err)
		return err;
	ls_py_frame_set(o, code, instr, f);
	return 0;
}

void ls_py_frame_set(const struct ls_py_offsets *o, __u64 code, __u64 instr, struct ls_py_frame *f)
{
	__s32 lasti = (__s32)instr;

	f->code = code;
	f->pad = 0;
	if (o->lasti_kind == LS_PY_INSTR_PTR) {
		instr -= code + o->code_adaptive;
		/* a pointer outside any plausible code: the offset is unknown */
		f->offset = (__s64)instr >= -2 && (__s64)instr < (1 << 30) ? (__s32)instr : -1;
		return;
	}
	f->offset = o->lasti_kind == LS_PY_LASTI_UNITS && lasti > 0 && lasti < (1 << 29) ? lasti * 2
											 : lasti;
}

int ls_py_stack(pid_t pid, const struct ls_py_offsets *o, pid_t tid, struct ls_py_frame *frames,
		int max)
{
	struct find_tid f = { .tid = tid };
	int n = 0, err;
	__u64 fr;

	if (max > LS_PY_MAX_DEPTH)
		max = LS_PY_MAX_DEPTH;
	err = each_tstate(pid, o, find_one, &f);
	if (err < 0)
		return err;
	if (!f.ts)
		return -ENOENT;
	err = rd64(pid, f.ts + o->tstate_frame, &fr);
	if (err)
		return err;
	if (o->frame_kind == LS_PY_CFRAME && fr) {
		err = rd64(pid, fr + o->cframe_frame, &fr);
		if (err)
			return err;
	}
	/* bounded twice: by max, and by the frames skipped (C-stack shims) */
	for (int seen = 0; fr && n < max && seen < 4 * LS_PY_MAX_DEPTH; seen++) {
		err = read_frame(pid, o, fr, &frames[n]);
		if (!err)
			n++;
		else if (err != -EINVAL)
			return err;
		err = rd64(pid, fr + o->frame_previous, &fr);
		if (err)
			return err;
	}
	return n;
}

/* --- strings --- */

static size_t put_utf8(char *out, size_t pos, size_t max, __u32 c)
{
	char b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = 0xc0 | c >> 6;
		b[1] = 0x80 | (c & 0x3f);
		n = 2;
	} else if (c < 0x10000) {
		b[0] = 0xe0 | c >> 12;
		b[1] = 0x80 | ((c >> 6) & 0x3f);
		b[2] = 0x80 | (c & 0x3f);
		n = 3;
	} else if (c < 0x110000) {
		b[0] = 0xf0 | c >> 18;
		b[1] = 0x80 | ((c >> 12) & 0x3f);
		b[2] = 0x80 | ((c >> 6) & 0x3f);
		b[3] = 0x80 | (c & 0x3f);
		n = 4;
	} else {
		b[0] = '?';
		n = 1;
	}
	if (pos + n >= max)
		return pos;
	memcpy(out + pos, b, n);
	return pos + n;
}

/*
 * The str at obj into out (max bytes, NUL included), as UTF-8, cut at a character boundary when
 * too long. Only compact strings, which is what code objects hold. 0, -EINVAL, -EFAULT.
 */
static int read_str(pid_t pid, const struct ls_py_offsets *o, __u64 obj, char *out, size_t max)
{
	unsigned char raw[4 * LS_PY_STR_MAX];
	__u32 state, kind, c;
	size_t pos = 0, next;
	__s64 length;
	__u64 data;
	int err;

	out[0] = '\0';
	err = is_a(pid, o, obj, o->unicode_type);
	if (err)
		return err;
	err = rd(pid, obj + o->unicode_state, &state, sizeof(state));
	if (!err)
		err = rd(pid, obj + o->unicode_length, &length, sizeof(length));
	if (err)
		return err;
	kind = STATE_KIND(state);
	if (!STATE_COMPACT(state) || (kind != 1 && kind != 2 && kind != 4) || length < 0)
		return -EINVAL;
	if (length > (__s64)max - 1)
		length = max - 1; /* at most max - 1 characters are needed to fill max bytes */
	data = obj + (STATE_ASCII(state) ? o->unicode_ascii : o->unicode_compact);
	if (length && (err = rd(pid, data, raw, length * kind)))
		return err;
	for (__s64 i = 0; i < length; i++) {
		if (kind == 1)
			c = raw[i];
		else if (kind == 2)
			c = raw[2 * i] | raw[2 * i + 1] << 8;
		else
			memcpy(&c, raw + 4 * i, 4);
		if (!c)
			c = '?'; /* a NUL would cut the name short */
		next = put_utf8(out, pos, max, c);
		if (next == pos)
			break;
		pos = next;
	}
	out[pos] = '\0';
	return 0;
}

/* The bytes object at obj, at most max bytes of it: its length read, or -errno. *buf is malloc'd */
static int read_bytes(pid_t pid, const struct ls_py_offsets *o, __u64 obj, size_t max, __u8 **buf)
{
	__s64 size;
	int err;

	*buf = NULL;
	err = is_a(pid, o, obj, o->bytes_type);
	if (!err)
		err = rd(pid, obj + o->var_size, &size, sizeof(size));
	if (err)
		return err;
	if (size < 0)
		return -EINVAL;
	if ((__u64)size > max)
		size = max;
	*buf = malloc(size ? size : 1);
	if (!*buf)
		return -ENOMEM;
	if (size && (err = rd(pid, obj + o->bytes_data, *buf, size))) {
		free(*buf);
		*buf = NULL;
		return err;
	}
	return size;
}

/* --- line tables --- */

/* 3.11+ location table varints: 6 bits a byte, bit 6 says another follows */
static bool varint(const __u8 *t, size_t len, size_t *p, __u32 *v)
{
	int shift = 0;
	__u8 b;

	*v = 0;
	do {
		if (*p >= len || shift > 30)
			return false;
		b = t[(*p)++];
		*v |= (__u32)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return true;
}

static bool svarint(const __u8 *t, size_t len, size_t *p, int *v)
{
	__u32 u;

	if (!varint(t, len, p, &u))
		return false;
	*v = u & 1 ? -(int)(u >> 1) : (int)(u >> 1);
	return true;
}

/* Include/internal/pycore_code.h and Objects/locations.md of 3.11: the entry holding unit */
static int line_locations(const __u8 *t, size_t len, int line, int unit)
{
	size_t p = 0;
	int addr = 0, delta;
	__u32 skip;

	while (p < len) {
		__u8 b = t[p++];
		int code = (b >> 3) & 15, n = (b & 7) + 1;
		bool none = false;

		if (!(b & 0x80))
			return 0; /* not at an entry's first byte: the table is not what we think */
		if (code == 15) {
			none = true;
			delta = 0;
		} else if (code == 14) {
			if (!svarint(t, len, &p, &delta) || !varint(t, len, &p, &skip) ||
			    !varint(t, len, &p, &skip) || !varint(t, len, &p, &skip))
				return 0;
		} else if (code == 13) {
			if (!svarint(t, len, &p, &delta))
				return 0;
		} else if (code >= 10) {
			delta = code - 10;
			p += 2;
		} else {
			delta = 0;
			p += 1;
		}
		line += delta;
		if (unit < addr + n)
			return none ? 0 : line;
		addr += n;
	}
	return 0;
}

/* Objects/lnotab_notes.txt of 3.8, 3.9: (address delta, signed line delta) pairs */
static int line_lnotab(const __u8 *t, size_t len, int line, int offset)
{
	int addr = 0;

	for (size_t p = 0; p + 1 < len; p += 2) {
		addr += t[p];
		if (addr > offset)
			break;
		line += (__s8)t[p + 1];
	}
	return line;
}

/* Objects/lnotab_notes.txt of 3.10: (byte delta, line delta) pairs, -128 for no line */
static int line_linetable(const __u8 *t, size_t len, int line, int offset)
{
	int addr = 0, cur;

	for (size_t p = 0; p + 1 < len; p += 2) {
		int end = addr + t[p];

		if ((__s8)t[p + 1] == -128) {
			cur = 0;
		} else {
			line += (__s8)t[p + 1];
			cur = line;
		}
		if (offset >= addr && offset < end)
			return cur;
		addr = end;
	}
	return 0;
}

int ls_py_line(enum ls_py_table_kind kind, const __u8 *table, size_t len, int firstlineno,
	       int offset)
{
	if (offset < 0)
		return firstlineno; /* not started: CPython says the def's line */
	switch (kind) {
	case LS_PY_LNOTAB:
		return line_lnotab(table, len, firstlineno, offset);
	case LS_PY_LINETABLE:
		return line_linetable(table, len, firstlineno, offset);
	case LS_PY_LOCATIONS:
		return line_locations(table, len, firstlineno, offset / 2);
	}
	return 0;
}

/* --- code objects, cached --- */

/* What identifies a code object: if any of it changed, the address holds another one */
struct code_id {
	__u64 type, name, filename, linetable;
	__s32 firstlineno;
	__u32 pad;
};

struct code_entry {
	__u64 addr; /* the key */
	struct code_id id;
	char name[LS_PY_STR_MAX];
	char file[LS_PY_STR_MAX];
	__u8 *table;
	size_t table_len;
	__u64 checked; /* the epoch it was last read in */
};

struct ls_py_codes {
	pid_t pid;
	struct ls_py_offsets o;
	struct ls_htab cache;
	__u64 epoch; /* 0: every use reads the code object again; 1, 2, ...: ls_py_codes_epoch() */
};

struct ls_py_codes *ls_py_codes_new(pid_t pid, const struct ls_py_offsets *off)
{
	struct ls_py_codes *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pid = pid;
	c->o = *off;
	ls_htab_init(&c->cache, sizeof(struct code_entry), offsetof(struct code_entry, addr),
		     sizeof(__u64));
	return c;
}

static void cache_clear(struct ls_py_codes *c)
{
	struct code_entry *e;
	size_t pos = 0;

	while ((e = ls_htab_next(&c->cache, &pos)))
		free(e->table);
	ls_htab_free(&c->cache);
	ls_htab_init(&c->cache, sizeof(struct code_entry), offsetof(struct code_entry, addr),
		     sizeof(__u64));
}

void ls_py_codes_free(struct ls_py_codes *c)
{
	if (!c)
		return;
	cache_clear(c);
	ls_htab_free(&c->cache);
	free(c);
}

/* The fields of a code object read_id() wants, as [lo, hi) from its start */
#define ID_SPAN_MAX 512

static void id_span(const struct ls_py_offsets *o, __u32 *lo, __u32 *hi)
{
	const __u32 offs[] = { o->ob_type, o->code_name, o->code_filename, o->code_linetable,
			       o->code_firstlineno };

	*lo = offs[0];
	*hi = offs[0] + 8;
	for (size_t i = 1; i < sizeof(offs) / sizeof(offs[0]); i++) {
		*lo = offs[i] < *lo ? offs[i] : *lo;
		*hi = offs[i] + 8 > *hi ? offs[i] + 8 : *hi;
	}
}

static int read_id(pid_t pid, const struct ls_py_offsets *o, __u64 code, struct code_id *id)
{
	__u8 buf[ID_SPAN_MAX];
	__u32 lo, hi;
	int err;

	memset(id, 0, sizeof(*id));
	id_span(o, &lo, &hi);
	/* one read where the fields are close together (every version so far): a syscall each
	 * would cost the recorder microseconds per frame */
	if (hi - lo <= sizeof(buf)) {
		err = rd(pid, code + lo, buf, hi - lo);
		if (err)
			return err;
		memcpy(&id->type, buf + o->ob_type - lo, 8);
		memcpy(&id->name, buf + o->code_name - lo, 8);
		memcpy(&id->filename, buf + o->code_filename - lo, 8);
		memcpy(&id->linetable, buf + o->code_linetable - lo, 8);
		memcpy(&id->firstlineno, buf + o->code_firstlineno - lo, 4);
		return id->type == o->code_type ? 0 : -EINVAL;
	}
	err = rd64(pid, code + o->ob_type, &id->type);
	if (!err && id->type != o->code_type)
		err = -EINVAL;
	if (!err)
		err = rd64(pid, code + o->code_name, &id->name);
	if (!err)
		err = rd64(pid, code + o->code_filename, &id->filename);
	if (!err)
		err = rd64(pid, code + o->code_linetable, &id->linetable);
	if (!err)
		err = rd(pid, code + o->code_firstlineno, &id->firstlineno,
			 sizeof(id->firstlineno));
	return err;
}

/* e filled from the code object described by id */
static int fill(pid_t pid, const struct ls_py_offsets *o, const struct code_id *id,
		struct code_entry *e)
{
	int err, n;

	err = read_str(pid, o, id->name, e->name, sizeof(e->name));
	if (!err)
		err = read_str(pid, o, id->filename, e->file, sizeof(e->file));
	if (err)
		return err;
	free(e->table);
	e->table = NULL;
	n = read_bytes(pid, o, id->linetable, LS_PY_TABLE_MAX, &e->table);
	if (n < 0)
		return n;
	e->table_len = n;
	e->id = *id;
	return 0;
}

int ls_py_resolve(struct ls_py_codes *c, const struct ls_py_frame *f, struct ls_py_location *loc)
{
	struct code_entry *e, tmp = { 0 };
	struct code_id id;
	bool created;
	int err;

	memset(loc, 0, sizeof(*loc));
	e = ls_htab_find(&c->cache, &f->code);
	if (c->epoch && e && e->checked == c->epoch)
		goto found; /* read in this epoch already */
	err = read_id(c->pid, &c->o, f->code, &id);
	if (err)
		return err;
	if (c->cache.nr >= CACHE_MAX)
		cache_clear(c);
	e = ls_htab_get(&c->cache, &f->code, &created);
	if (!e) {
		e = &tmp; /* out of memory: resolved all the same, not cached */
		created = true;
	}
	if (created || memcmp(&e->id, &id, sizeof(id))) {
		e->addr = f->code;
		err = fill(c->pid, &c->o, &id, e);
		if (err) {
			/* nothing half-made stays in the cache: it will be read afresh */
			memset(&e->id, 0, sizeof(e->id));
			e->checked = 0;
			goto cleanup;
		}
	}
	e->checked = c->epoch;
found:
	snprintf(loc->name, sizeof(loc->name), "%s", e->name);
	snprintf(loc->file, sizeof(loc->file), "%s", e->file);
	loc->firstlineno = e->id.firstlineno;
	loc->line =
		ls_py_line(c->o.table_kind, e->table, e->table_len, e->id.firstlineno, f->offset);
cleanup:
	if (e == &tmp)
		free(tmp.table);
	return err;
}

void ls_py_codes_epoch(struct ls_py_codes *c)
{
	c->epoch++;
}
