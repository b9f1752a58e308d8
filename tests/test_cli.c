// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lockscope report and compare as a user runs them: good files, bad files, usage, JSON. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <strings.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "jsoncheck.h"
#include "testutil.h"
#include "trace.h"

/* The header of the small traces below: a launched command, pid 10, on 2 CPUs */
static struct ls_file_header small_header(void)
{
	return (struct ls_file_header){ .version = LS_TRACE_VERSION,
					.header_size = sizeof(struct ls_file_header),
					.byte_order = LS_BYTE_ORDER,
					.nr_cpus = 2,
					.start_mono_ns = 1000000,
					.mode = LS_MODE_LAUNCH,
					.target_pid = 10 };
}

/* A small complete trace: one process, two threads taking turns; version and cut adjustable. */
static void write_trace(const char *name, __u32 version, long cut, int threads)
{
	struct ls_file_header h = small_header();
	struct ls_end end = { .end_mono_ns = 3000000, .stop_reason = LS_STOP_EXITED };
	char *argv[] = { "./workload", "--threads", "2" };
	struct ls_writer w;
	FILE *f = fopen(test_path(name), "w");

	assert_non_null(f);
	memcpy(h.magic, LS_TRACE_MAGIC, 8);
	strcpy(h.kernel, "6.1.0-test");
	ls_writer_init(&w, f, &h);
	ls_writer_cmdline(&w, 3, argv);
	for (int i = 0; i < threads; i++) {
		struct ls_task_new t = { .hdr = { LS_REC_TASK_NEW, sizeof(t), 11 + i },
					 .ts = 1000000,
					 .tgid = 10,
					 .comm = "worker" };
		struct ls_switch s = { .hdr = { LS_REC_SWITCH, sizeof(s), 0 },
				       .ts = 1100000 + i * 1000,
				       .next_tid = 11 + i,
				       .flags = LS_SW_NEXT_TRACED };

		ls_writer_put(&w, &t, sizeof(t));
		ls_writer_put(&w, &s, sizeof(s));
	}
	ls_writer_finish(&w, &end);
	if (cut >= 0)
		assert_int_equal(ftruncate(fileno(f), cut), 0);
	h.version = version;
	rewind(f);
	fwrite(&h, sizeof(h), 1, f);
	fclose(f);
}

static int lockscope_v(const char *out, char *a1, char *a2, char *a3, char *a4, char *a5)
{
	char *argv[] = { LOCKSCOPE, a1, a2, a3, a4, a5, NULL };

	return run(argv, test_path(out), NULL);
}

#define lockscope(out, a1, a2, a3, a4) lockscope_v(out, a1, a2, a3, a4, NULL)

static void expect(int rc, int want_rc, const char *out, const char *text)
{
	const char *got = slurp(test_path(out));

	if (rc != want_rc || !strstr(got, text))
		print_message("exit %d (want %d), output:\n%s\n", rc, want_rc, got);
	assert_int_equal(rc, want_rc);
	assert_non_null(strstr(got, text));
}

static void test_report_good_file(void **state)
{
	write_trace("good.data", LS_TRACE_VERSION, -1, 2);
	expect(lockscope("r.out", "report", (char *)test_path("good.data"), NULL, NULL), 0, "r.out",
	       "PARALLELISM");
	expect(lockscope("r.out", "report", "--format", "json", (char *)test_path("good.data")), 0,
	       "r.out", "\"verdict\"");
	assert_true(json_valid(slurp(test_path("r.out"))));
	expect(lockscope("c.out", "compare", (char *)test_path("good.data"),
			 (char *)test_path("good.data"), NULL),
	       0, "c.out", "speed-up vs first");
	expect(lockscope_v("c.out", "compare", "--format", "json", (char *)test_path("good.data"),
			   (char *)test_path("good.data")),
	       0, "c.out", "\"speedup_vs_first\"");
	assert_true(json_valid(slurp(test_path("c.out"))));
}

/* lockscope report --format chrome FILE, stdout and stderr kept apart: its exit status */
static int report_chrome(const char *trace, const char *out, const char *err)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "%s report --format chrome '%s' > '%s' 2> '%s'", LOCKSCOPE,
		 test_path(trace), test_path(out), test_path(err));
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The trace for ui.perfetto.dev: whole JSON from a good file and from one cut short. */
static void test_report_chrome(void **state)
{
	const char *json;

	write_trace("good.data", LS_TRACE_VERSION, -1, 2);
	assert_int_equal(report_chrome("good.data", "g.json", "g.err"), 0);
	json = slurp(test_path("g.json"));
	assert_true(json_valid(json));
	assert_non_null(strstr(json, "\"traceEvents\":["));
	assert_non_null(strstr(json, "\"name\":\"running\""));
	assert_non_null(strstr(json, "\"thread_name\",\"pid\":10,\"tid\":12,"));
	assert_string_equal(slurp(test_path("g.err")), "");
	/* cut inside the second thread's records: exit 1, the message apart, the JSON whole */
	write_trace("cut.data", LS_TRACE_VERSION, sizeof(struct ls_file_header) + 200, 2);
	assert_int_equal(report_chrome("cut.data", "c.json", "c.err"), 1);
	assert_true(json_valid(slurp(test_path("c.json"))));
	assert_non_null(strstr(slurp(test_path("c.json")), "\"traceEvents\":["));
	assert_non_null(strstr(slurp(test_path("c.err")), "truncated"));
	/* not a trace: nothing on stdout, the reason on stderr */
	assert_int_equal(report_chrome("missing.data", "m.json", "m.err"), 1);
	assert_string_equal(slurp(test_path("m.json")), "");
	assert_non_null(strstr(slurp(test_path("m.err")), "cannot open"));
}

static void test_report_bad_files(void **state)
{
	FILE *f;

	f = fopen(test_path("empty.data"), "w");
	fclose(f);
	expect(lockscope("e.out", "report", (char *)test_path("empty.data"), NULL, NULL), 1,
	       "e.out", "not a lockscope trace");
	f = fopen(test_path("text.data"), "w");
	fputs("hello, this is a text file and certainly not a lockscope trace at all.\n", f);
	fclose(f);
	expect(lockscope("e.out", "report", (char *)test_path("text.data"), NULL, NULL), 1, "e.out",
	       "not a lockscope trace");
	write_trace("newer.data", LS_TRACE_VERSION + 1, -1, 2);
	expect(lockscope("e.out", "report", (char *)test_path("newer.data"), NULL, NULL), 1,
	       "e.out", "newer than this lockscope reads");
	write_trace("cut.data", LS_TRACE_VERSION, sizeof(struct ls_file_header) + 100, 2);
	expect(lockscope("e.out", "report", (char *)test_path("cut.data"), NULL, NULL), 1, "e.out",
	       "TRUNCATED");
	write_trace("nothread.data", LS_TRACE_VERSION, -1, 0);
	expect(lockscope("e.out", "report", (char *)test_path("nothread.data"), NULL, NULL), 1,
	       "e.out", "no traced thread");
	expect(lockscope("e.out", "report", (char *)test_path("missing.data"), NULL, NULL), 1,
	       "e.out", "cannot open");
	expect(lockscope("e.out", "compare", (char *)test_path("good.data"),
			 (char *)test_path("text.data"), NULL),
	       1, "e.out", "not a lockscope trace");
}

static void test_usage(void **state)
{
	expect(lockscope("u.out", "--help", NULL, NULL, NULL), 0, "u.out", "Examples:");
	expect(lockscope("u.out", "record", "--help", NULL, NULL), 0, "u.out", "EXAMPLES:");
	expect(lockscope("u.out", "report", "--help", NULL, NULL), 0, "u.out", "EXAMPLES:");
	expect(lockscope("u.out", "compare", "--help", NULL, NULL), 0, "u.out", "EXAMPLES:");
	expect(lockscope("u.out", "top", "--help", NULL, NULL), 0, "u.out", "EXAMPLES:");
	expect(lockscope("u.out", "compare", "one.data", NULL, NULL), 64, "u.out",
	       "two recordings or more");
	expect(lockscope("u.out", "report", "--format", "xml", "x.data"), 64, "u.out",
	       "unknown format");
	expect(lockscope("u.out", "report", "--help", NULL, NULL), 0, "u.out", "--format chrome");
	expect(lockscope("u.out", "compare", "--format", "chrome", "x.data"), 64, "u.out",
	       "text or json");
	expect(lockscope("u.out", "frobnicate", NULL, NULL, NULL), 2, "u.out", "unknown command");
}

/* A trace whose strings are escape sequences, new lines and bytes that are not UTF-8. */
static void write_hostile_strings(const char *name)
{
	static const char evil[] = "\x1b[2J\x1b]0;pwn\x07\n\xff\xc2\x9b;x y";
	struct ls_file_header h = small_header();
	struct ls_end end = { .end_mono_ns = 3000000, .stop_reason = LS_STOP_EXITED };
	char *argv[] = { (char *)evil, (char *)evil };
	struct ls_task_new t = { .hdr = { LS_REC_TASK_NEW, sizeof(t), 11 },
				 .ts = 1000000,
				 .tgid = 10 };
	struct ls_maps_begin mb = { .hdr = { LS_REC_MAPS_BEGIN, sizeof(mb), 10 }, .nr = 1 };
	struct {
		struct ls_map m;
		char path[40];
	} map = { .m = { .hdr = { LS_REC_MAP, sizeof(map), 10 },
			 .start = 0x400000,
			 .end = 0x500000,
			 .prot = LS_MAP_READ | LS_MAP_EXEC } };
	struct {
		struct ls_stack s;
		__u64 ips[2];
	} st = { .s = { .hdr = { LS_REC_STACK, sizeof(st), 10 }, .id = 1, .nr = 2 },
		 .ips = { 0x401000, 0x402000 } };
	struct ls_wait_stack ws = { .hdr = { LS_REC_WAIT_STACK, sizeof(ws), 11 },
				    .ts = 1500000,
				    .stack_id = 1 };
	struct ls_futex wait = { .hdr = { LS_REC_FUTEX_WAIT, sizeof(wait), 11 },
				 .ts_enter = 1200000,
				 .ts_exit = 1800000,
				 .uaddr = 0x401234,
				 .op = LS_FUTEX_WAIT | LS_FUTEX_PRIVATE_FLAG };
	struct ls_writer w;
	FILE *f = fopen(test_path(name), "w");

	assert_non_null(f);
	memcpy(h.magic, LS_TRACE_MAGIC, 8);
	memcpy(h.kernel, evil, sizeof(evil));
	memcpy(t.comm, evil, LS_COMM_LEN - 1);
	snprintf(map.path, sizeof(map.path), "/nonexistent/%s", evil);
	ls_writer_init(&w, f, &h);
	ls_writer_cmdline(&w, 2, argv);
	ls_writer_put(&w, &t, sizeof(t));
	ls_writer_put(&w, &mb, sizeof(mb));
	ls_writer_put(&w, &map, sizeof(map));
	ls_writer_put(&w, &st, sizeof(st));
	ls_writer_put(&w, &ws, sizeof(ws));
	ls_writer_put(&w, &wait, sizeof(wait));
	ls_writer_finish(&w, &end);
	fclose(f);
}

/* No control character but new lines (and tabs), and nothing that is not UTF-8. */
static bool terminal_safe(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			return false;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0)
			return false; /* a C1 control */
		if (*p >= 0x80 && *p < 0xc2)
			return false; /* a stray continuation or an invalid lead */
	}
	return true;
}

/* Escape sequences in a trace's strings never reach the terminal: text, folded, JSON, compare. */
static void test_report_hostile_strings(void **state)
{
	const char *out;
	int lines = 0;

	write_hostile_strings("evil.data");
	expect(lockscope("r.out", "report", "--stacks", (char *)test_path("evil.data"), NULL), 0,
	       "r.out", "\\x1b[2J");
	out = slurp(test_path("r.out"));
	assert_true(terminal_safe(out));
	/* the lock, named by its mapping */
	assert_non_null(strstr(out, "\\x1b[2J\\x1b]0;pwn\\x07\\x0a\\xff\\xc2\\x9b;x y+0x1234"));
	expect(lockscope("f.out", "report", "--format", "folded", (char *)test_path("evil.data")),
	       0, "f.out", "\\x1b[2J");
	out = slurp(test_path("f.out"));
	assert_true(terminal_safe(out));
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1); /* one line per stack */
	expect(lockscope("j.out", "report", "--format", "json", (char *)test_path("evil.data")), 0,
	       "j.out", "\"verdict\"");
	out = slurp(test_path("j.out"));
	assert_true(json_valid(out));
	assert_true(terminal_safe(out));
	expect(lockscope("c.out", "compare", (char *)test_path("evil.data"),
			 (char *)test_path("evil.data"), NULL),
	       0, "c.out", "speed-up");
	assert_true(terminal_safe(slurp(test_path("c.out"))));
}

/*
 * Every line of each --help fits 80 columns, and argp's wrapping breaks no example: each line of
 * an EXAMPLES block starts with the two spaces of an example or of its continuation.
 */
static void test_help_width(void **state)
{
	static char *const cmds[][4] = {
		{ LOCKSCOPE, "--help", NULL },
		{ LOCKSCOPE, "record", "--help", NULL },
		{ LOCKSCOPE, "report", "--help", NULL },
		{ LOCKSCOPE, "compare", "--help", NULL },
		{ LOCKSCOPE, "top", "--help", NULL },
	};
	char *env[] = { "COLUMNS=80", NULL };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *out = test_path("help.out"), *line, *next;
		bool examples = false;

		assert_int_equal(run(cmds[i], out, env), 0);
		for (line = slurp(out); *line; line = next + (*next == '\n')) {
			int len;

			next = strchrnul(line, '\n');
			len = next - line;
			if (len > 80 || (examples && len && strncmp(line, "  ", 2)))
				print_message("%s %s: %d columns: %.*s\n", cmds[i][1],
					      cmds[i][2] ? cmds[i][2] : "", len, len, line);
			assert_true(len <= 80);
			if (examples && len)
				assert_memory_equal(line, "  ", 2);
			if (!strncasecmp(line, "EXAMPLES:", 9))
				examples = true;
			else if (!len)
				examples = false;
		}
	}
}

#ifndef LS_SOURCE_DIR
#define LS_SOURCE_DIR "."
#endif
#define MAN_PAGE LS_SOURCE_DIR "/tracer/lockscope.1"

/* The man page: every long option of every command's --help in it, and groff's -ww silent on it */
static void test_man_page(void **state)
{
	static const char *const cmds[] = { "record", "report", "compare", "top" };
	char *groff[] = { "groff", "-man", "-ww", "-z", MAN_PAGE, NULL };
	char man[1 << 16], opt[64];
	const char *out = test_path("man.out"), *p;
	size_t n;
	FILE *f;
	int rc;

	f = fopen(MAN_PAGE, "r");
	assert_non_null(f);
	n = fread(man, 1, sizeof(man) - 1, f);
	fclose(f);
	man[n] = 0;
	/* troff's \- as the hyphen it prints */
	for (char *r = man, *w = man;; r++) {
		if (r[0] == '\\' && r[1] == '-')
			r++;
		if (!(*w++ = *r))
			break;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *argv[] = { LOCKSCOPE, (char *)cmds[i], "--help", NULL };

		assert_int_equal(run(argv, out, NULL), 0);
		/* option lines: "  -o, --output=FILE  ..." or "      --usage  ..." */
		for (p = slurp(out); (p = strstr(p, "\n  ")); p++) {
			const char *o = p + 1 + strspn(p + 1, " ");
			int len;

			if (o[0] == '-' && o[1] != '-')
				o = strstr(o, ", --") ? strstr(o, ", --") + 2 : o;
			if (strncmp(o, "--", 2))
				continue;
			len = strcspn(o + 2, "=[ \n");
			snprintf(opt, sizeof(opt), "--%.*s", len, o + 2);
			if (!strstr(man, opt))
				print_message("%s --%.*s is not in %s\n", cmds[i], len, o + 2,
					      MAN_PAGE);
			assert_non_null(strstr(man, opt));
		}
	}
	rc = run(groff, out, NULL);
	if (rc == 122) {
		print_message("SKIP: groff is not installed (apt-get install groff-base)\n");
		skip();
	}
	if (rc || *slurp(out))
		print_message("groff -man -ww -z %s: exit %d\n%s\n", MAN_PAGE, rc, slurp(out));
	assert_int_equal(rc, 0);
	assert_string_equal(slurp(out), "");
}

/*
 * make install DESTDIR=... PREFIX=/usr puts the binary in usr/bin and the man page in
 * usr/share/man/man1, where man -l renders it (as man would, after a package installed it).
 */
static void test_install(void **state)
{
	char dest[512], bin[600], page[600], arg[3][600];
	char *make[] = { "make", "--no-print-directory", "-s",	 "-C",	    LS_SOURCE_DIR, arg[0],
			 arg[1], "PREFIX=/usr",		 arg[2], "install", NULL };
	char *man[] = { "man", "-l", page, NULL };
	const char *out = test_path("install.out");
	struct stat st;
	int rc;

	snprintf(dest, sizeof(dest), "%s", test_path("dest"));
	snprintf(arg[0], sizeof(arg[0]), "DESTDIR=%s", dest);
	snprintf(arg[1], sizeof(arg[1]), "OUTPUT=%s", LS_BUILD_DIR);
	snprintf(arg[2], sizeof(arg[2]), "MANDIR=/usr/share/man");
	rc = run(make, out, NULL);
	if (rc)
		print_message("make install: exit %d\n%s\n", rc, slurp(out));
	assert_int_equal(rc, 0);
	snprintf(bin, sizeof(bin), "%s/usr/bin/lockscope", dest);
	snprintf(page, sizeof(page), "%s/usr/share/man/man1/lockscope.1", dest);
	assert_int_equal(stat(bin, &st), 0);
	assert_true(S_ISREG(st.st_mode) && (st.st_mode & 0111));
	assert_int_equal(stat(page, &st), 0);
	rc = run(man, out,
		 (char *[]){ "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "TERM=dumb",
			     "PATH=/usr/bin:/bin", NULL });
	if (rc == 122) {
		print_message("SKIP: man is not installed (apt-get install man-db): the files are "
			      "in place\n");
		skip();
	}
	assert_int_equal(rc, 0);
	assert_non_null(strstr(slurp(out), "lockscope"));
	assert_non_null(strstr(slurp(out), "EXAMPLES"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_good_file),
		cmocka_unit_test(test_report_chrome),
		cmocka_unit_test(test_report_bad_files),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_report_hostile_strings),
		cmocka_unit_test(test_help_width),
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_install),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("command line", tests, test_dir_setup,
					   test_dir_teardown);
}
