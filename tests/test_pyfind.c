// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding CPython and its GIL (tracer/pyfind.c) in live interpreters: Debian's stripped
 * /usr/bin/python3.11 and the pyenv builds with symbols, each skipped, saying why, when missing.
 * The file offsets are checked byte for byte against the process's memory.
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

static pid_t child = -1;   /* killed by the teardown, whatever the test's outcome */
static int child_out = -1; /* its stdout, open until then: it must not write to a closed pipe */

static int kill_child(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (child_out >= 0)
		close(child_out);
	child = -1;
	child_out = -1;
	return 0;
}

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
 * Its stdout stays open in child_out. */
static pid_t start_python(const char *exe)
{
	char buf[16] = "";
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(exe, exe, "-c", "import sys, time; print('ready', flush=True); time.sleep(5)",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	child_out = fds[0];
	n = read(fds[0], buf, sizeof(buf) - 1);
	if (pid > 0 && (n < 5 || strncmp(buf, "ready", 5))) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
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

/* The uprobe offset of name is right: the file's bytes there are the code at its address. */
static void check_probe_offset(pid_t pid, const struct ls_pyinfo *info, const char *name,
			       unsigned long long off)
{
	unsigned char in_file[32], in_memory[32];
	unsigned long long vaddr;

	assert_int_equal(nm_value(info->open_path, name, false, &vaddr), 0);
	read_file(info->open_path, off, in_file, sizeof(in_file));
	read_process(pid, vaddr + info->load_bias, in_memory, sizeof(in_memory));
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
	child = start_python(exe);
	assert_true(child > 0);
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

	/* _PyRuntime where nm puts it, moved by the load bias */
	assert_non_null(strstr(info.path, "python"));
	assert_int_equal(nm_value(info.open_path, "_PyRuntime", true, &rt_vaddr), 0);
	assert_int_equal(info.runtime_addr, rt_vaddr + info.load_bias);
	if (it->exec)
		assert_int_equal(info.load_bias, 0);
	if (v[1] >= 13) {
		char cookie[8];

		read_process(child, info.runtime_addr, cookie, sizeof(cookie));
		assert_memory_equal(cookie, "xdebugpy", 8);
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
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("pyfind", tests, NULL, NULL);
}
