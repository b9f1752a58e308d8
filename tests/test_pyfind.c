// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding CPython and its GIL (tracer/pyfind.c) in live interpreters: Debian's stripped
 * /usr/bin/python3.11 and the pyenv builds with symbols, each skipped, saying why, when missing.
 * The file offsets are checked byte for byte against the process's memory. Free-threaded builds
 * are not installed here: their detection is tested on a synthetic _PyRuntime instead.
 */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "child.h"
#include "pyfind.h"

struct interp {
	const char *name;
	const char *pattern; /* a path or a glob; the first match is used */
	bool symbols;	     /* has .symtab: take_gil and drop_gil are there */
	bool exec;	     /* non-PIE executable */
};

static const struct interp interps[] = {
	{ "debian python3.11", "/usr/bin/python3.11", false, true },
	{ "pyenv 3.7", "/root/.pyenv/versions/3.7*/bin/python3", true, false },
	{ "pyenv 3.8", "/root/.pyenv/versions/3.8*/bin/python3", true, false },
	{ "pyenv 3.9", "/root/.pyenv/versions/3.9*/bin/python3", true, false },
	{ "pyenv 3.10", "/root/.pyenv/versions/3.10*/bin/python3", true, false },
	{ "pyenv 3.11", "/root/.pyenv/versions/3.11*/bin/python3", true, false },
	{ "pyenv 3.12", "/root/.pyenv/versions/3.12*/bin/python3", true, false },
	{ "pyenv 3.13", "/root/.pyenv/versions/3.13*/bin/python3", true, false },
};

static bool resolve(const char *pattern, char *out)
{
	glob_t g;
	bool ok;

	if (glob(pattern, 0, NULL, &g))
		return false;
	ok = g.gl_pathc > 0 && !access(g.gl_pathv[0], X_OK);
	if (ok)
		snprintf(out, PATH_MAX, "%s", g.gl_pathv[0]);
	globfree(&g);
	return ok;
}

/* sys.version_info and whether it is a free-threaded build, as the interpreter says. */
static int python_version(const char *exe, int v[3], int *ft)
{
	char cmd[PATH_MAX + 256];
	FILE *p;
	int n;

	snprintf(cmd, sizeof(cmd),
		 "'%s' -c 'import sys, sysconfig; print(*sys.version_info[:3], "
		 "int(bool(sysconfig.get_config_var(\"Py_GIL_DISABLED\"))))'",
		 exe);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fscanf(p, "%d %d %d %d", &v[0], &v[1], &v[2], ft);
	pclose(p);
	return n == 4 ? 0 : -1;
}

/* Start exe sleeping, and wait until it has said so: its interpreter is initialised by then.
 * It is child (child.h), killed by the teardown. */
static pid_t start_python(const char *exe)
{
	char *argv[] = { (char *)exe, "-c",
			 "import sys, time; print('ready', flush=True); time.sleep(5)", NULL };
	char buf[16];

	return start_child(argv, buf, sizeof(buf), "ready");
}

/*
 * The value of a symbol as nm (binutils) sees it, independently of pyfind: the exact name, else
 * its first compiler clone ("take_gil.constprop.0"). dynamic: nm -D.
 */
static int nm_value(const char *path, const char *name, bool dynamic, unsigned long long *value)
{
	char cmd[PATH_MAX + 64], line[512], sym[400], type;
	size_t len = strlen(name);
	unsigned long long v;
	bool clone = false;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s--defined-only '%s' 2>/dev/null", dynamic ? "-D " : "",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %c %399s", &v, &type, sym) != 3 || strncmp(sym, name, len))
			continue;
		if (!sym[len]) {
			*value = v;
			pclose(p);
			return 0;
		}
		if (sym[len] == '.' && !clone) {
			*value = v;
			clone = true;
		}
	}
	pclose(p);
	return clone ? 0 : -1;
}

static int proc_reader(void *ctx, __u64 addr, void *buf, size_t len)
{
	return ls_pyfind_read(*(pid_t *)ctx, addr, buf, len);
}

static void read_process(pid_t pid, unsigned long long addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	assert_int_equal(process_vm_readv(pid, &local, 1, &remote, 1, 0), (ssize_t)len);
}

static void read_file(const char *path, unsigned long long off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/*
 * The uprobe offset of name is right: the file's bytes there are the code at its address. A uprobe
 * that another tracer (or a test running beside) has on it shows in memory as int3 (0xcc) in the
 * place of the instruction's first byte: the rest must match all the same.
 */
static void check_probe_offset(pid_t pid, const struct ls_pyinfo *info, const char *name,
			       unsigned long long off)
{
	unsigned char in_file[32], in_memory[32];
	unsigned long long vaddr;

	assert_int_equal(nm_value(info->open_path, name, false, &vaddr), 0);
	read_file(info->open_path, off, in_file, sizeof(in_file));
	read_process(pid, vaddr + info->load_bias, in_memory, sizeof(in_memory));
	if (in_memory[0] == 0xcc)
		in_memory[0] = in_file[0];
	assert_memory_equal(in_file, in_memory, sizeof(in_file));
}

static void test_interpreter(void **state)
{
	const struct interp *it = *state;
	struct ls_pyinfo info, file, bad;
	unsigned long long rt_vaddr;
	__u64 interval = 0;
	char exe[PATH_MAX];
	int v[3], ft;

	if (!resolve(it->pattern, exe)) {
		print_message("SKIP: no interpreter at %s\n", it->pattern);
		skip();
	}
	assert_int_equal(python_version(exe, v, &ft), 0);
	assert_true(start_python(exe) > 0);
	assert_int_equal(ls_pyfind(child, &info), 0);
	print_message("  %-40s %d.%d.%d symbols=%d ft=%d gil=_PyRuntime+%#llx bias=%#llx "
		      "take_gil@%#llx drop_gil@%#llx in %s\n",
		      exe, info.major, info.minor, info.micro, info.has_symbols, info.free_threaded,
		      (unsigned long long)(info.gil_addr - info.runtime_addr),
		      (unsigned long long)info.load_bias, (unsigned long long)info.take_gil_off,
		      (unsigned long long)info.drop_gil_off, info.path);

	/* the version */
	assert_int_equal(info.major, v[0]);
	assert_int_equal(info.minor, v[1]);
	if (v[1] >= 11) /* Py_Version */
		assert_int_equal(info.micro, v[2]);
	assert_int_equal(info.free_threaded, ft);
	if (!ft) { /* a default build's GIL is always on */
		assert_int_equal(info.gil_enabled, 1);
		assert_false(info.gil_disabled);
	}

	/* _PyRuntime where nm puts it, moved by the load bias */
	assert_non_null(strstr(info.path, "python"));
	assert_int_equal(nm_value(info.open_path, "_PyRuntime", true, &rt_vaddr), 0);
	assert_int_equal(info.runtime_addr, rt_vaddr + info.load_bias);
	if (it->exec)
		assert_int_equal(info.load_bias, 0);
	if (v[1] >= 13) {
		struct ls_pyruntime rt;
		char cookie[8];

		read_process(child, info.runtime_addr, cookie, sizeof(cookie));
		assert_memory_equal(cookie, "xdebugpy", 8);
		/* the debug offsets, parsed in the live process, lead to the GIL found */
		assert_int_equal(ls_pyfind_runtime(proc_reader, &child, info.runtime_addr,
						   info.runtime_size, &rt),
				 0);
		assert_int_equal(rt.hexversion >> 8, v[0] << 16 | v[1] << 8 | v[2]);
		assert_int_equal(rt.free_threaded, ft);
		assert_int_equal(rt.gil_addr, info.gil_addr);
		assert_int_equal(rt.gil_disabled, info.gil_disabled);
	}

	/* the GIL, confirmed in memory */
	assert_true(info.gil_addr > info.runtime_addr);
	assert_int_equal(ls_pyfind_check_gil(child, &info, &interval), 0);
	assert_int_equal(interval, 5000);
	bad = info;
	bad.gil_addr += 8;
	assert_int_equal(ls_pyfind_check_gil(child, &bad, NULL), -EINVAL);
	bad.gil_addr = 1;
	assert_true(ls_pyfind_check_gil(child, &bad, NULL) < 0);

	/* the probes */
	assert_int_equal(info.has_symbols, it->symbols);
	/* every copy of take_gil is probed, the function itself among them */
	assert_true(!info.has_symbols || info.nr_take_gil >= 1);
	{
		bool listed = !info.has_symbols;

		for (int i = 0; i < info.nr_take_gil; i++)
			listed |= info.take_gil_offs[i] == info.take_gil_off;
		assert_true(listed);
	}
	if (info.has_symbols) {
		assert_true(info.take_gil_off && info.drop_gil_off);
		check_probe_offset(child, &info, "take_gil", info.take_gil_off);
		check_probe_offset(child, &info, "drop_gil", info.drop_gil_off);
	} else {
		assert_int_equal(info.take_gil_off, 0);
		assert_int_equal(info.drop_gil_off, 0);
	}

	/* the same from the file alone, without the runtime addresses */
	assert_int_equal(ls_pyfind_file(exe, &file), 0);
	assert_string_equal(file.path, info.path);
	assert_int_equal(file.major, info.major);
	assert_int_equal(file.minor, info.minor);
	assert_int_equal(file.micro, info.micro);
	assert_int_equal(file.free_threaded, info.free_threaded);
	assert_int_equal(file.gil_enabled, ft ? -1 : 1); /* enabled is only in the process */
	assert_int_equal(file.gil_disabled, ft);
	assert_int_equal(file.runtime_size, info.runtime_size);
	assert_int_equal(file.has_symbols, info.has_symbols);
	assert_int_equal(file.take_gil_off, info.take_gil_off);
	assert_int_equal(file.drop_gil_off, info.drop_gil_off);
	assert_int_equal(file.runtime_addr, 0);
	assert_int_equal(file.gil_addr, 0);
	assert_int_equal(file.load_bias, 0);
}

/* Wait until the child runs path (it has exec'd), at most a second. */
static void wait_exec(pid_t pid, const char *path)
{
	char link[64], target[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	assert_non_null(realpath(path, want));
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 1000; i++) {
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			if (!strcmp(target, want))
				return;
		}
		usleep(1000);
	}
	fail_msg("%s did not exec %s", link, path);
}

static void test_not_python(void **state)
{
	struct ls_pyinfo info;

	(void)state;
	child = fork();
	if (child == 0) {
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(127);
	}
	assert_true(child > 0);
	wait_exec(child, "/bin/sleep");
	assert_int_equal(ls_pyfind(child, &info), -ENOENT);
	assert_int_equal(ls_pyfind(getpid(), &info), -ENOENT);
}

static void test_no_such_process(void **state)
{
	struct ls_pyinfo info;
	pid_t pid = fork();

	(void)state;
	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(ls_pyfind(pid, &info), -ESRCH);
	assert_int_equal(ls_pyfind(0, &info), -ESRCH);
}

static void test_file_not_python(void **state)
{
	char script[] = "/tmp/lockscope-pyfind.XXXXXX";
	struct ls_pyinfo info;
	int fd;

	(void)state;
	assert_int_equal(ls_pyfind_file("/bin/sleep", &info), -ENOENT);
	assert_int_equal(ls_pyfind_file("/nonexistent/python3", &info), -ENOENT);
	/* a script (pyenv's shims are bash): not CPython itself */
	fd = mkstemp(script);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexec python3 \"$@\"\n", 29), 29);
	close(fd);
	assert_int_equal(ls_pyfind_file(script, &info), -ENOENT);
	unlink(script);
}

/*
 * A synthetic _PyRuntime, laid out as a 3.13 or 3.14 build lays it out (free-threaded or not), in
 * a buffer read through a callback: what ls_pyfind_runtime() decides from it. The order of
 * _Py_DebugOffsets' fields is CPython's v3.13.0 and 3.14 (Include/internal/pycore_debug_offsets.h
 * in 3.14, which adds interpreter_state.threads_main); the offsets it holds are made up, as each
 * build has its own.
 */
#define IMG_BASE     0x7f3a12340000ull /* where the image is "mapped" */
#define IMG_LEN	     0x4000	       /* the memory readable: _PyRuntime, then "heap" */
#define RT_SIZE	     0x2000	       /* sizeof(_PyRuntime) */
#define RT_HEAD	     0x290	       /* interpreters.head, in _PyRuntime */
#define MAIN_INTERP  0x1000	       /* the main interpreter, inside _PyRuntime as in CPython */
#define SUB_INTERP   0x3000	       /* a sub-interpreter, on the "heap", first in the list */
#define IS_SIZE	     0x800	       /* sizeof(PyInterpreterState) */
#define IS_NEXT	     0x0
#define IS_ID	     0x8
#define IS_CEVAL_GIL 0x60  /* interp->ceval.gil, the pointer */
#define IS_GIL	     0x400 /* interp->_gil, the struct */
#define SWITCHES     4242
#define DBG_IS	     48 /* interpreter_state, after the header and runtime_state */

/* interpreter_state's fields, in the order the version's _Py_DebugOffsets lists them */
enum is_field {
	F_SIZE,
	F_ID,
	F_NEXT,
	F_THREADS_HEAD,
	F_THREADS_MAIN,
	F_GC,
	F_MODULES,
	F_SYSDICT,
	F_BUILTINS,
	F_CEVAL_GIL,
	F_GIL,
	F_GIL_ENABLED,
	F_GIL_LOCKED,
	F_GIL_HOLDER,
};

static const enum is_field order_313[] = {
	F_SIZE,	    F_ID,	 F_NEXT, F_THREADS_HEAD, F_GC,	       F_MODULES,    F_SYSDICT,
	F_BUILTINS, F_CEVAL_GIL, F_GIL,	 F_GIL_ENABLED,	 F_GIL_LOCKED, F_GIL_HOLDER,
};

static const enum is_field order_314[] = {
	F_SIZE, F_ID,	       F_NEXT,	     F_THREADS_HEAD, F_THREADS_MAIN,
	F_GC,	F_MODULES,     F_SYSDICT,    F_BUILTINS,     F_CEVAL_GIL,
	F_GIL,	F_GIL_ENABLED, F_GIL_LOCKED, F_GIL_HOLDER,
};

struct image {
	unsigned char buf[IMG_LEN];
	size_t len;    /* readable bytes from IMG_BASE: less to truncate the image */
	__u64 rt_size; /* what the ELF file would say */
	bool ft;
};

static int image_read(void *ctx, __u64 addr, void *buf, size_t len)
{
	const struct image *im = ctx;
	__u64 off = addr - IMG_BASE;

	if (addr < IMG_BASE || off > im->len || len > im->len - off)
		return -EFAULT;
	memcpy(buf, im->buf + off, len);
	return 0;
}

static void put64(struct image *im, __u64 off, __u64 v)
{
	memcpy(im->buf + off, &v, sizeof(v));
}

static void put32(struct image *im, __u64 off, __s32 v)
{
	memcpy(im->buf + off, &v, sizeof(v));
}

/* interpreter_state's field i (in the version's order), overwritten */
static void put_is(struct image *im, int i, __u64 v)
{
	put64(im, DBG_IS + 8 * i, v);
}

static __u64 get64(struct image *im, __u64 addr)
{
	__u64 v;

	assert_int_equal(image_read(im, addr, &v, sizeof(v)), 0);
	return v;
}

static int get32(struct image *im, __u64 addr)
{
	__s32 v;

	assert_int_equal(image_read(im, addr, &v, sizeof(v)), 0);
	return v;
}

/* The main interpreter's GIL struct (where enabled is, in a free-threaded build). */
#define GIL_STRUCT (IMG_BASE + MAIN_INTERP + IS_GIL)

/* One interpreter: its id, the next one, and its own GIL, initialised and held. */
static void put_interp(struct image *im, __u64 at, __u64 id, __u64 next, int enabled)
{
	__u64 gil = at + IS_GIL, shift = im->ft ? 8 : 0;

	put64(im, at + IS_ID, id);
	put64(im, at + IS_NEXT, next);
	put64(im, at + IS_CEVAL_GIL, IMG_BASE + gil);
	if (im->ft)
		put32(im, gil, enabled);
	put64(im, gil + shift, 5000);			       /* interval */
	put64(im, gil + shift + 8, IMG_BASE + SUB_INTERP + 8); /* last_holder: some tstate */
	put32(im, gil + shift + 16, 1);			       /* locked */
	put64(im, gil + shift + 24, SWITCHES + id);	       /* switch_number */
}

/*
 * _PyRuntime of a 3.minor.0 build, free-threaded or not, whose main interpreter's GIL has enabled
 * (when free-threaded). A sub-interpreter comes first in the list, its own GIL permanently
 * enabled: only the main one's counts.
 */
static void build_image(struct image *im, int minor, bool ft, int enabled)
{
	const enum is_field *order = minor == 13 ? order_313 : order_314;
	size_t n = minor == 13 ? sizeof(order_313) / sizeof(order_313[0])
			       : sizeof(order_314) / sizeof(order_314[0]);
	__u64 shift = ft ? 8 : 0, v[F_GIL_HOLDER + 1] = {
		[F_SIZE] = IS_SIZE,
		[F_ID] = IS_ID,
		[F_NEXT] = IS_NEXT,
		[F_THREADS_HEAD] = 0x48,
		[F_THREADS_MAIN] = 0x50,
		[F_GC] = 0x100,
		[F_MODULES] = 0x300,
		[F_SYSDICT] = 0x308,
		[F_BUILTINS] = 0x310,
		[F_CEVAL_GIL] = IS_CEVAL_GIL,
		[F_GIL] = IS_GIL,
		[F_GIL_ENABLED] = 0, /* offsetof(struct _gil_runtime_state, enabled), or 0 */
		[F_GIL_LOCKED] = IS_GIL + shift + 16,
		[F_GIL_HOLDER] = IS_GIL + shift + 8,
	};

	memset(im, 0, sizeof(*im));
	im->len = IMG_LEN;
	im->rt_size = RT_SIZE;
	im->ft = ft;
	memcpy(im->buf, "xdebugpy", 8);
	put64(im, 8, 0x030000f0 | minor << 16); /* PY_VERSION_HEX */
	put64(im, 16, ft);
	put64(im, 24, RT_SIZE); /* runtime_state: size, finalizing, interpreters_head */
	put64(im, 32, 0x280);
	put64(im, 40, RT_HEAD);
	for (size_t i = 0; i < n; i++)
		put_is(im, i, v[order[i]]);

	put64(im, RT_HEAD, IMG_BASE + SUB_INTERP);
	put_interp(im, SUB_INTERP, 1, IMG_BASE + MAIN_INTERP, INT_MAX);
	put_interp(im, MAIN_INTERP, 0, 0, enabled);
}

static int decide(struct image *im, struct ls_pyruntime *rt)
{
	return ls_pyfind_runtime(image_read, im, IMG_BASE, im->rt_size, rt);
}

/* The fields of GIL.md's table, read from rt->gil_addr, are the main interpreter's GIL's. */
static void assert_gil_fields(struct image *im, const struct ls_pyruntime *rt)
{
	assert_int_equal(rt->gil_addr, GIL_STRUCT + (im->ft ? 8 : 0));
	assert_int_equal(get64(im, rt->gil_addr), 5000);	  /* interval */
	assert_int_equal(get32(im, rt->gil_addr + 16), 1);	  /* locked */
	assert_int_equal(get64(im, rt->gil_addr + 24), SWITCHES); /* switch_number */
}

static struct image img;

static void test_synth_ft_disabled(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	for (int minor = 13; minor <= 14; minor++) {
		build_image(&img, minor, true, 0);
		assert_int_equal(decide(&img, &rt), 0);
		assert_int_equal(rt.hexversion, 0x030000f0 | minor << 16);
		assert_true(rt.free_threaded);
		assert_gil_fields(&img, &rt);
		assert_int_equal(rt.gil_enabled, 0);
		assert_true(rt.gil_disabled);
	}
}

static void test_synth_ft_enabled(void **state)
{
	static const int values[] = { 1, 3, INT_MAX }; /* temporary re-enables; PYTHON_GIL=1 */
	struct ls_pyruntime rt;

	(void)state;
	for (int minor = 13; minor <= 14; minor++) {
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			build_image(&img, minor, true, values[i]);
			assert_int_equal(decide(&img, &rt), 0);
			assert_true(rt.free_threaded);
			assert_int_equal(rt.gil_enabled, values[i]);
			assert_false(rt.gil_disabled);
			/* followed as a default build's GIL, 8 bytes into the struct */
			assert_gil_fields(&img, &rt);
		}
	}
}

static void test_synth_default_build(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	for (int minor = 13; minor <= 14; minor++) {
		build_image(&img, minor, false, 0);
		assert_int_equal(decide(&img, &rt), 0);
		assert_int_equal(rt.hexversion, 0x030000f0 | minor << 16);
		assert_false(rt.free_threaded);
		assert_gil_fields(&img, &rt); /* the struct itself: no enabled field */
		assert_int_equal(rt.gil_enabled, 1);
		assert_false(rt.gil_disabled);
	}
}

/* Each version's layout read as the other's finds no GIL: the field order matters. */
static void test_synth_wrong_version(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	build_image(&img, 14, true, INT_MAX);
	put64(&img, 8, 0x030d00f0);
	assert_int_equal(decide(&img, &rt), 0);
	assert_true(rt.free_threaded);
	assert_int_equal(rt.gil_addr, 0);
	assert_int_equal(rt.gil_enabled, -1);
	assert_true(rt.gil_disabled); /* not knowing: the default */

	build_image(&img, 13, false, 0);
	put64(&img, 8, 0x030e00f0);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
	assert_false(rt.gil_disabled);

	/* 3.15: a layout we do not know; the header still says free-threaded */
	build_image(&img, 14, true, INT_MAX);
	put64(&img, 8, 0x030f00a1);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.hexversion, 0x030f00a1);
	assert_true(rt.free_threaded);
	assert_int_equal(rt.gil_addr, 0);
	assert_true(rt.gil_disabled);
}

/* Offsets that contradict the flag or the sizes: the GIL is not followed. */
static void test_synth_inconsistent(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	/* a default build whose locked and holder sit after an enabled field */
	build_image(&img, 13, false, 0);
	put_is(&img, 11, IS_GIL + 24); /* 3.13: gil_runtime_state_locked */
	put_is(&img, 12, IS_GIL + 16); /* and _holder */
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);

	/* free-threaded, its GIL's fields not shifted */
	build_image(&img, 14, true, INT_MAX);
	put_is(&img, 12, IS_GIL + 16); /* 3.14: gil_runtime_state_locked */
	put_is(&img, 13, IS_GIL + 8);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
	assert_true(rt.gil_disabled);

	/* enabled not first in the struct */
	build_image(&img, 14, true, INT_MAX);
	put_is(&img, 11, 4);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);

	/* runtime_state.size is not the size of _PyRuntime */
	build_image(&img, 14, true, INT_MAX);
	img.rt_size = RT_SIZE + 8;
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);

	/* an offset past the interpreter, or one that would wrap around */
	build_image(&img, 13, true, INT_MAX);
	put_is(&img, 8, IS_SIZE); /* 3.13: ceval_gil */
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
	put_is(&img, 8, UINT64_MAX - 4);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
}

static void test_synth_corrupt(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	build_image(&img, 13, true, INT_MAX);
	img.buf[7] = 'Y';
	memset(&rt, 0xa5, sizeof(rt));
	assert_int_equal(decide(&img, &rt), -ENOENT);
	assert_int_equal(rt.hexversion, 0);
	assert_false(rt.free_threaded);
	assert_int_equal(rt.gil_addr, 0);

	build_image(&img, 13, true, INT_MAX);
	put64(&img, 16, 2); /* free_threaded is 0 or 1 */
	assert_int_equal(decide(&img, &rt), -ENOENT);

	build_image(&img, 13, true, INT_MAX);
	put64(&img, 8, 0x020700f0); /* not a Python 3 version */
	assert_int_equal(decide(&img, &rt), -ENOENT);

	/* a negative enabled is no state of a GIL: unknown */
	build_image(&img, 13, true, -5);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_enabled, -1);
	assert_true(rt.gil_disabled);
}

static void test_synth_short(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	/* shorter than the header */
	build_image(&img, 13, true, INT_MAX);
	img.len = 20;
	assert_int_equal(decide(&img, &rt), -ENOENT);
	build_image(&img, 13, true, INT_MAX);
	img.rt_size = 16;
	assert_int_equal(decide(&img, &rt), -ENOENT);

	/* the header, not all of interpreter_state: free-threaded, the GIL unknown */
	build_image(&img, 14, true, INT_MAX);
	img.len = 100;
	assert_int_equal(decide(&img, &rt), 0);
	assert_true(rt.free_threaded);
	assert_int_equal(rt.gil_addr, 0);
	assert_int_equal(rt.gil_enabled, -1);
	assert_true(rt.gil_disabled);

	/* the main interpreter's GIL pointer leads out of the memory: enabled unknown */
	build_image(&img, 14, true, INT_MAX);
	put64(&img, MAIN_INTERP + IS_CEVAL_GIL, IMG_BASE + IMG_LEN);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_enabled, -1);
	assert_true(rt.gil_disabled);

	/* the memory ends inside the sub-interpreter, before the main one is reached */
	build_image(&img, 13, true, INT_MAX);
	img.len = SUB_INTERP + IS_ID + 4;
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
	assert_true(rt.gil_disabled);
}

/* Before initialisation there are no interpreters: nothing to follow yet. */
static void test_synth_not_initialised(void **state)
{
	struct ls_pyruntime rt;

	(void)state;
	build_image(&img, 14, true, INT_MAX);
	put64(&img, RT_HEAD, 0);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
	assert_int_equal(rt.gil_enabled, -1);
	assert_true(rt.gil_disabled);

	build_image(&img, 13, false, 0);
	put64(&img, RT_HEAD, 0);
	assert_int_equal(decide(&img, &rt), 0);
	assert_int_equal(rt.gil_addr, 0);
	assert_false(rt.gil_disabled);
}

_Static_assert(sizeof(interps) / sizeof(interps[0]) == 8, "main() lists every interpreter");

int main(void)
{
	const struct CMUnitTest tests[] = {
#define INTERP(i) { interps[i].name, test_interpreter, NULL, kill_child, (void *)&interps[i] }
		INTERP(0),
		INTERP(1),
		INTERP(2),
		INTERP(3),
		INTERP(4),
		INTERP(5),
		INTERP(6),
		INTERP(7),
		cmocka_unit_test_teardown(test_not_python, kill_child),
		cmocka_unit_test(test_no_such_process),
		cmocka_unit_test(test_file_not_python),
		cmocka_unit_test(test_synth_ft_disabled),
		cmocka_unit_test(test_synth_ft_enabled),
		cmocka_unit_test(test_synth_default_build),
		cmocka_unit_test(test_synth_wrong_version),
		cmocka_unit_test(test_synth_inconsistent),
		cmocka_unit_test(test_synth_corrupt),
		cmocka_unit_test(test_synth_short),
		cmocka_unit_test(test_synth_not_initialised),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("pyfind", tests, NULL, NULL);
}
