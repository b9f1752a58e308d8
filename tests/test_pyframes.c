// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python stacks read from user space (tracer/pyframes.c), on every interpreter `make pythons`
 * listed, each a test of its own: a script whose threads sit in known functions, the offsets
 * found and checked against the process, each thread's stack walked and resolved to the names,
 * file and lines the script has; offsets of the wrong version fail with a reason; a code object
 * whose name changes under the cache is resolved anew. Needs root (the chroot, and reading
 * another process); each test skips, saying why, where it cannot run.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "pyframes.h"
#include "child.h"
#include "pythons.h"

#define SETTLE_TRIES 1000 /* 10 ms apart */

/* The script, compiled under SCRIPT_FILE: its frames name that file wherever it runs */
#define SCRIPT_FILE "/lockscope-test/spin.py"
#define SCRIPT                                                                                     \
	"import threading, time\n"				       /* 1 */                     \
	"\n"							       /* 2 */                     \
	"def inner(ids, tag):\n"				       /* 3 */                     \
	"    ids.append('%s:%d' % (tag, threading.get_native_id()))\n" /* 4 */                     \
	"    while True: pass\n"				       /* 5 */                     \
	"\n"							       /* 6 */                     \
	"def outer(ids, tag):\n"				       /* 7 */                     \
	"    inner(ids, tag)\n"					       /* 8 */                     \
	"\n"							       /* 9 */                     \
	"class Spinner:\n"					       /* 10 */                    \
	"    def run(self, ids):\n"				       /* 11 */                    \
	"        outer(ids, 'method')\n"			       /* 12 */                    \
	"\n"							       /* 13 */                    \
	"def main():\n"						       /* 14 */                    \
	"    ids = []\n"					       /* 15 */                    \
	"    threading.Thread(target=outer, args=(ids, 'plain'), daemon=True).start()\n"           \
	"    threading.Thread(target=Spinner().run, args=(ids,), daemon=True).start()\n"           \
	"    while len(ids) < 2: time.sleep(0.01)\n" /* 18 */                                      \
	"    print('ready', 'main:%d' % threading.get_native_id(), *ids, flush=True)\n"            \
	"    time.sleep(600)\n" /* 20 */                                                           \
	"\n"			/* 21 */                                                           \
	"main()\n"		/* 22 */
#define BOOT                                                                                       \
	"exec(compile("                                                                            \
	"'''" SCRIPT "'''"                                                                         \
	", '" SCRIPT_FILE "', 'exec'))"

/* The threads the script names: main, plain (outer -> inner), method (Spinner.run -> ...) */
struct tids {
	pid_t main, plain, method;
};

static void parse_tids(const char *line, struct tids *t)
{
	const char *p;

	memset(t, 0, sizeof(*t));
	assert_int_equal(strncmp(line, "ready ", 6), 0);
	p = strstr(line, "main:");
	assert_non_null(p);
	t->main = atoi(p + 5);
	p = strstr(line, "plain:");
	assert_non_null(p);
	t->plain = atoi(p + 6);
	p = strstr(line, "method:");
	assert_non_null(p);
	t->method = atoi(p + 7);
	assert_true(t->main > 0 && t->plain > 0 && t->method > 0);
}

struct expect {
	const char *name; /* as the version names it: qualified from 3.11 */
	int line;
	bool ours; /* in SCRIPT_FILE; else in threading.py */
};

static void print_stack(struct ls_py_codes *codes, const struct ls_py_frame *f, int n)
{
	struct ls_py_location loc;

	for (int i = 0; i < n; i++) {
		int err = ls_py_resolve(codes, &f[i], &loc);

		print_message("      #%d %#llx+%d %s (%s:%d) %s\n", i,
			      (unsigned long long)f[i].code, f[i].offset, loc.name, loc.file,
			      loc.line, err ? strerror(-err) : "");
	}
}

/* Thread tid's stack starts with want[0..n), innermost first, names, files and lines right. */
static void check_stack(pid_t pid, const struct ls_py_offsets *off, struct ls_py_codes *codes,
			const char *what, pid_t tid, const struct expect *want, int n)
{
	struct ls_py_frame f[LS_PY_MAX_DEPTH];
	struct ls_py_location loc;
	int depth;

	/*
	 * Until the thread is where the script leaves it: "ready" is printed while the threads may
	 * still wait for the GIL on the line before (on a busy machine, for a while).
	 */
	for (int i = 0; i < SETTLE_TRIES; i++) {
		depth = ls_py_stack(pid, off, tid, f, LS_PY_MAX_DEPTH);
		if (depth > 0 && !ls_py_resolve(codes, &f[0], &loc) && loc.line == want[0].line)
			break;
		usleep(10000);
	}
	print_message("    %s (tid %d): %d frames\n", what, (int)tid, depth);
	if (depth > 0)
		print_stack(codes, f, depth);
	assert_true(depth >= n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(ls_py_resolve(codes, &f[i], &loc), 0);
		assert_string_equal(loc.name, want[i].name);
		if (want[i].ours) {
			assert_string_equal(loc.file, SCRIPT_FILE);
			assert_int_equal(loc.line, want[i].line);
		} else {
			size_t len = strlen(loc.file);

			assert_true(len >= 12 && !strcmp(loc.file + len - 12, "threading.py"));
			assert_true(loc.line > loc.firstlineno);
		}
	}
}

/* The code object at code names itself by the str at name_ptr from now on (root: our child). */
static void set_name(pid_t pid, __u64 code, __u16 off, __u64 name_ptr)
{
	struct iovec local = { &name_ptr, 8 }, remote = { (void *)(uintptr_t)(code + off), 8 };

	assert_int_equal(process_vm_writev(pid, &local, 1, &remote, 1, 0), 8);
}

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("SKIP: reading another process's memory and the chroot need root "
			      "(run: sudo make test)\n");
		skip();
	}
}

static void test_interpreter(void **state)
{
	const struct python *py = *state;
	struct ls_py_frame f[LS_PY_MAX_DEPTH];
	struct ls_py_location loc;
	struct ls_py_offsets off;
	struct ls_py_codes *codes;
	struct ls_pyinfo info;
	char line[512] = "", why[256];
	bool qual;
	struct tids t;
	int err;
	__u64 inner_name, outer_name;

	skip_unless_root();
	if (access(py->argv[0][0] == '/' ? py->argv[0] : "/usr/sbin/chroot", X_OK)) {
		print_message("SKIP: %s is missing: run sudo make pythons\n", py->argv[0]);
		skip();
	}
	if (start_child(py->argv, line, sizeof(line), "\n") < 0)
		fail_msg("%s did not start, or said no ready line: \"%s\"", py->label, line);
	parse_tids(line, &t);
	assert_int_equal(ls_pyfind(child, &info), 0);
	qual = info.minor >= 11;
	err = ls_py_offsets_find(child, &info, &off, why, sizeof(why));
	print_message("  %s: %d.%d, %s, offsets %s: %s\n", py->label, info.major, info.minor,
		      info.has_symbols ? "symbols" : "stripped",
		      info.minor >= 13 ? "_Py_DebugOffsets" : "table", err ? why : "checked");
	assert_int_equal(err, 0);

	codes = ls_py_codes_new(child, &off);
	assert_non_null(codes);
	{
		const struct expect plain[] = {
			{ "inner", 5, true },
			{ "outer", 8, true },
			{ qual ? "Thread.run" : "run", 0, false },
		};
		const struct expect method[] = {
			{ "inner", 5, true },
			{ "outer", 8, true },
			{ qual ? "Spinner.run" : "run", 12, true },
			{ qual ? "Thread.run" : "run", 0, false },
		};
		const struct expect main_thread[] = {
			{ "main", 20, true },
			{ "<module>", 22, true },
		};

		check_stack(child, &off, codes, "plain", t.plain, plain, 3);
		check_stack(child, &off, codes, "method", t.method, method, 4);
		check_stack(child, &off, codes, "main", t.main, main_thread, 2);
	}

	/* a thread that is not Python's: none of its thread states */
	assert_int_equal(ls_py_stack(child, &off, 1, f, LS_PY_MAX_DEPTH), -ENOENT);

	/*
	 * The cache re-checks: inner's code object, renamed under it (its name pointer made
	 * outer's), is resolved anew; then put back.
	 */
	assert_true(ls_py_stack(child, &off, t.plain, f, LS_PY_MAX_DEPTH) >= 2);
	assert_int_equal(ls_pyfind_read(child, f[0].code + off.code_name, &inner_name, 8), 0);
	assert_int_equal(ls_pyfind_read(child, f[1].code + off.code_name, &outer_name, 8), 0);
	set_name(child, f[0].code, off.code_name, outer_name);
	assert_int_equal(ls_py_resolve(codes, &f[0], &loc), 0);
	assert_string_equal(loc.name, "outer");
	set_name(child, f[0].code, off.code_name, inner_name);
	assert_int_equal(ls_py_resolve(codes, &f[0], &loc), 0);
	assert_string_equal(loc.name, "inner");
	/* and something that is no code object is not named */
	f[0].code = off.runtime;
	assert_int_equal(ls_py_resolve(codes, &f[0], &loc), -EINVAL);
	assert_string_equal(loc.name, "");
	ls_py_codes_free(codes);

	/* the offsets of another version: the check fails, with a reason, and nothing is named */
	info.minor = info.minor >= 11 ? 9 : 12;
	why[0] = '\0';
	err = ls_py_offsets_find(child, &info, &off, why, sizeof(why));
	print_message("    as 3.%d: %s (%d)\n", info.minor, why, err);
	assert_true(err < 0 && err != -ESRCH);
	assert_true(strlen(why) > 10);
	ls_pyinfo_release(&info);
}

/* The line tables, on tables made by hand after each version's notes. */
static void test_line_tables(void **state)
{
	/* 3.8: bytes 0-5 line 10, 6-11 line 11, 12- line 9 (a negative delta) */
	const __u8 lnotab[] = { 6, 1, 6, (__u8)-2 };
	/* 3.10: bytes 0-3 line 10, 4-7 none, 8-9 line 12 */
	const __u8 linetable[] = { 4, 0, 4, (__u8)-128, 2, 2 };
	/*
	 * 3.11: 2 units short form (line 10), 3 units one-line form delta 1 (line 11), 1 unit none,
	 * 2 units no-column form with svarint -1 (line 10), 1 unit long form +3 (line 13)
	 */
	const __u8 locations[] = {
		0x80 | 0 << 3 | 1,
		5,
		0x80 | 11 << 3 | 2,
		0,
		4,
		0x80 | 15 << 3 | 0,
		0x80 | 13 << 3 | 1,
		3,
		0x80 | 14 << 3 | 0,
		6,
		0,
		1,
		2,
	};

	(void)state;
	assert_int_equal(ls_py_line(LS_PY_LNOTAB, lnotab, sizeof(lnotab), 10, 0), 10);
	assert_int_equal(ls_py_line(LS_PY_LNOTAB, lnotab, sizeof(lnotab), 10, 5), 10);
	assert_int_equal(ls_py_line(LS_PY_LNOTAB, lnotab, sizeof(lnotab), 10, 6), 11);
	assert_int_equal(ls_py_line(LS_PY_LNOTAB, lnotab, sizeof(lnotab), 10, 40), 9);
	assert_int_equal(ls_py_line(LS_PY_LNOTAB, lnotab, sizeof(lnotab), 10, -1), 10);

	assert_int_equal(ls_py_line(LS_PY_LINETABLE, linetable, sizeof(linetable), 10, 2), 10);
	assert_int_equal(ls_py_line(LS_PY_LINETABLE, linetable, sizeof(linetable), 10, 6), 0);
	assert_int_equal(ls_py_line(LS_PY_LINETABLE, linetable, sizeof(linetable), 10, 8), 12);
	assert_int_equal(ls_py_line(LS_PY_LINETABLE, linetable, sizeof(linetable), 10, 10), 0);

	/* byte offsets: unit * 2 */
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 2), 10);
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 4), 11);
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 8), 11);
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 10), 0);
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 12), 10);
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 16), 13);
	/* past the end, or cut in the middle of an entry: no line */
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations), 10, 18), 0);
	assert_int_equal(ls_py_line(LS_PY_LOCATIONS, locations, sizeof(locations) - 2, 10, 16), 0);
}

/* Without a CPython found there is nothing to follow, and the reason says so. */
static void test_not_python(void **state)
{
	struct ls_pyinfo info = { .fd = -1 };
	struct ls_py_offsets off;
	char why[128] = "";

	(void)state;
	assert_int_equal(ls_py_offsets_find(getpid(), &info, &off, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "CPython"));
	info.major = 3;
	info.minor = 20;
	info.runtime_addr = 0x1000;
	assert_int_equal(ls_py_offsets_find(getpid(), &info, &off, why, sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "3.20"));
}

int main(void)
{
	const struct CMUnitTest others[] = {
		cmocka_unit_test(test_line_tables),
		cmocka_unit_test(test_not_python),
	};
	size_t nr_others = sizeof(others) / sizeof(others[0]);
	struct python *py = NULL;
	struct CMUnitTest *tests;
	int n = pythons_load(&py, BOOT), nt = 0, ret;

	setvbuf(stdout, NULL, _IONBF, 0);
	tests = calloc((n > 0 ? n : 1) + nr_others, sizeof(*tests));
	if (!tests)
		return 1;
	if (n < 0)
		tests[nt++] = (struct CMUnitTest)cmocka_unit_test(pythons_no_list);
	for (int i = 0; i < n; i++)
		tests[nt++] = (struct CMUnitTest){ .name = py[i].label,
						   .test_func = test_interpreter,
						   .teardown_func = kill_child,
						   .initial_state = &py[i] };
	for (size_t i = 0; i < nr_others; i++)
		tests[nt++] = others[i];
	ret = _cmocka_run_group_tests("pyframes", tests, nt, NULL, NULL);
	free(tests);
	pythons_free(py, n);
	return ret;
}
