/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding CPython in a process or a file, and what tracing its GIL needs: the interpreter's ELF
 * object, its load bias, the version, the main interpreter's GIL structure
 * (struct _gil_runtime_state) and the file offsets of take_gil and drop_gil for uprobes.
 * See GIL.md for the layouts this relies on.
 */
#ifndef LS_PYFIND_H
#define LS_PYFIND_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#define LS_PY_PATH_MAX 512
#define LS_PY_CLONES   4

struct ls_pyinfo {
	int major, minor, micro; /* 0 when unknown */
	bool free_threaded;	 /* a 't' build (Py_GIL_DISABLED): no GIL unless re-enabled */
	/*
	 * sys._is_gil_enabled(), as read when found. gil_enabled is the GIL struct's 'enabled' in a
	 * free-threaded build (0: disabled, the default; a count of temporary re-enables by
	 * extensions; INT_MAX for PYTHON_GIL=1 or -X gil=1), -1 when it could not be read (from a
	 * file alone, or before the interpreter is initialised), and 1 in a default build.
	 * gil_disabled: free-threaded with enabled 0 or unknown (off being the default); otherwise
	 * the GIL is on and followed as in a default build.
	 */
	int gil_enabled;
	bool gil_disabled;
	char path
		[LS_PY_PATH_MAX]; /* the ELF object that defines _PyRuntime, as mapped (host path) */
	char open_path
		[LS_PY_PATH_MAX]; /* how we opened it (/proc/PID/map_files/...): for messages */
	/*
	 * The file itself, as checked and read: open until ls_pyinfo_release(), -1 when not found.
	 * Uprobes go through it (/proc/self/fd/N), never through a path looked up again, which
	 * the traced process's owner could point elsewhere in between. dev and ino from its fstat.
	 */
	int fd;
	__u64 dev, ino;
	__u64 load_bias;    /* runtime address = ELF vaddr + load_bias (0 for non-PIE) */
	__u64 runtime_addr; /* runtime address of _PyRuntime */
	__u64 runtime_size; /* of _PyRuntime, 0 if unknown */
	/*
	 * Runtime address of the main interpreter's GIL (struct _gil_runtime_state), 0 if unknown:
	 * where GIL.md's table starts (interval at +0). In a free-threaded build that is 8 bytes into
	 * the struct, after its int 'enabled', so the table's offsets hold in every build. When no
	 * candidate could be confirmed in memory (the interpreter is not initialised yet) this is the
	 * address the version's layout predicts, unconfirmed: call ls_pyfind_check_gil() before
	 * relying on it.
	 */
	__u64 gil_addr;
	/* file offsets for uprobes (0 when the symbol is missing): the function itself, and in
	 * *_offs every copy of it, compiler clones included (3.8 calls both take_gil and
	 * take_gil.constprop.0) */
	__u64 take_gil_off, take_gil_offs[LS_PY_CLONES];
	int nr_take_gil;
	__u64 drop_gil_off, drop_gil_offs[LS_PY_CLONES];
	int nr_drop_gil;
	bool has_symbols; /* take_gil and drop_gil found in .symtab */
};

/* Close info->fd. */
void ls_pyinfo_release(struct ls_pyinfo *info);

/* 0 and *info filled when PID runs CPython; -ENOENT when it does not; -errno on errors (-ESRCH
 * no such process). */
int ls_pyfind(pid_t pid, struct ls_pyinfo *info);

/*
 * Same from a file path alone (launch mode, before the process exists): what can be known
 * statically (version, symbols, file offsets, whether it is CPython); runtime addresses stay 0.
 * An executable linked with libpython3.X.so is followed to that library (DT_RUNPATH/DT_RPATH,
 * LD_LIBRARY_PATH, the usual library directories), which is then info->path.
 */
int ls_pyfind_file(const char *path, struct ls_pyinfo *info);

/*
 * Read the GIL at info->gil_addr in the live process and check it as GIL.md says: the
 * interval is the switch interval, locked is 0 or 1, and the struct lies inside the _PyRuntime
 * object. The interval must be the default, 5000 us: any other plausible value is also that of a
 * heap pointer in a non-PIE process (GIL.last_holder is one), so a process that called
 * sys.setswitchinterval() fails; *interval_us (may be NULL) says what was read. 0 when it checks
 * out, -EINVAL when not, -errno on errors (-ESRCH when the process is gone, -EFAULT when the
 * address is not mapped).
 */
int ls_pyfind_check_gil(pid_t pid, const struct ls_pyinfo *info, __u64 *interval_us);

/*
 * len bytes of process pid's memory at addr: process_vm_readv, or /proc/PID/mem where that is
 * refused. 0, -EFAULT (not mapped), -ESRCH (gone) or -errno.
 */
int ls_pyfind_read(pid_t pid, __u64 addr, void *buf, size_t len);

/* Reads len bytes at addr of some memory (a process, an ELF file, a test's buffer): 0, or -errno
 * (-EFAULT where there is nothing). */
typedef int (*ls_pyread_fn)(void *ctx, __u64 addr, void *buf, size_t len);

/* What _Py_DebugOffsets at the start of _PyRuntime (3.13+) say, and what follows from them. */
struct ls_pyruntime {
	__u32 hexversion;   /* PY_VERSION_HEX */
	bool free_threaded; /* its free_threaded flag */
	/* the main interpreter's GIL, as ls_pyinfo.gil_addr (the interval field), unconfirmed; 0
	 * when the version's layout is unknown or the interpreter is not initialised */
	__u64 gil_addr;
	int gil_enabled;   /* as ls_pyinfo */
	bool gil_disabled; /* as ls_pyinfo */
};

/*
 * Parse the debug offsets of the _PyRuntime at runtime (size bytes) through read, and follow them
 * to the main interpreter's GIL (3.13 and 3.14 layouts) and its 'enabled' field. 0 when the debug
 * offsets are there (rt->gil_addr may still be 0), -ENOENT when not (no cookie, a short read).
 */
int ls_pyfind_runtime(ls_pyread_fn read, void *ctx, __u64 runtime, __u64 size,
		      struct ls_pyruntime *rt);

#endif /* LS_PYFIND_H */
