// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Naming addresses: this process's own memory map, recorded with ls_procmaps_write and read back,
 * names its globals, libc's and the heap; synthetic snapshots name thread stacks and replace
 * each other.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "names.h"
#include "trace.h"
/* Tests link the report objects only; the tracer's objects bring their own main(). */
#include "procmaps.h"

int main(void);

int global_var[4] = { 1, 2, 3, 4 };
static int test_word[16] __attribute__((used)) = { 5 };
/* Larger than a page: its end lies in the anonymous mapping after the file's data. */
unsigned long bss_words[1 << 16];

static struct ls_file_header test_header(void)
{
	struct ls_file_header h = {
		.version = LS_TRACE_VERSION,
		.header_size = sizeof(h),
		.byte_order = LS_BYTE_ORDER,
		.nr_cpus = 1,
		.page_size = 4096,
		.clock_id = 1,
		.mode = LS_MODE_PID,
	};

	memcpy(h.magic, LS_TRACE_MAGIC, 8);
	return h;
}

/* Record this process's map into a trace in memory, read it back and feed the names. */
static void feed_self(struct ls_names *n)
{
	struct ls_file_header h = test_header();
	struct ls_end end = { .end_mono_ns = 2 };
	const struct ls_rec_hdr *rec;
	struct ls_writer w;
	struct ls_reader r;
	__u32 nr = 0, maps = 0;
	size_t len;
	char *data;
	FILE *f = open_memstream(&data, &len);

	assert_int_equal(ls_writer_init(&w, f, &h), 0);
	assert_int_equal(ls_procmaps_write(&w, getpid(), 1), 0);
	assert_int_equal(ls_writer_finish(&w, &end), 0);
	fclose(f);

	f = fmemopen(data, len, "r");
	assert_int_equal(ls_reader_open(&r, f), 0);
	while (ls_reader_next(&r, &rec) == LS_READ_RECORD) {
		if (rec->type == LS_REC_MAPS_BEGIN)
			nr = ((const struct ls_maps_begin *)rec)->nr;
		if (rec->type == LS_REC_MAP) {
			const struct ls_map *m = (const void *)rec;

			assert_int_equal(rec->size % 8, 0);
			assert_true(strlen(m->path) < rec->size - sizeof(*m));
			maps++;
		}
		assert_int_equal(rec->tid, getpid());
		assert_int_equal(ls_names_feed(n, rec), 0);
	}
	assert_true(nr > 5);
	assert_int_equal(maps, nr);
	ls_reader_close(&r);
	fclose(f);
	free(data);
}

static const char *name_of(struct ls_names *n, __u32 tgid, const void *addr)
{
	static char buf[256];

	return ls_names_lookup(n, tgid, (unsigned long)addr, buf, sizeof(buf));
}

/* The path of the mapping holding addr in /proc/self/maps ("" if anonymous). */
static void self_mapping(const void *addr, char *path, size_t len)
{
	unsigned long a = (unsigned long)addr, start, end;
	char line[4096];
	int pos;
	FILE *f = fopen("/proc/self/maps", "r");

	path[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &start, &end, &pos) < 2 ||
		    a < start || a >= end)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + pos);
		break;
	}
	fclose(f);
}

static void test_own_globals(void **state)
{
	struct ls_names *n = ls_names_new();
	char path[4096];

	feed_self(n);
	assert_string_equal(name_of(n, getpid(), &global_var[2]), "global_var+0x8 (test_names)");
	assert_string_equal(name_of(n, getpid(), test_word), "test_word (test_names)");
	assert_string_equal(name_of(n, getpid(), &bss_words[2]), "bss_words+0x10 (test_names)");
	/* the .bss past the file's last page: an anonymous mapping, named as part of the file */
	self_mapping(&bss_words[60000], path, sizeof(path));
	assert_string_equal(path, "");
	assert_string_equal(name_of(n, getpid(), &bss_words[60000]),
			    "bss_words+0x75300 (test_names)");
	assert_string_equal(name_of(n, getpid(), (char *)main + 1), "main+0x1 (test_names)");
	/* a copy-relocated import, named without its version, by its public alias */
	assert_true(!strncmp(name_of(n, getpid(), &environ), "environ (", 9));
	ls_names_free(n);
}

static void test_libc(void **state)
{
	struct ls_names *n = ls_names_new();
	const char *name;

	feed_self(n);
	/* libc.so.6 is stripped: its .dynsym names its exported data */
	assert_string_equal(name_of(n, getpid(), (char *)stdout + 8),
			    "_IO_2_1_stdout_+0x8 (libc.so.6)");
	/* a PIE copies libc's stdout into its own .bss: either file may hold it */
	name = name_of(n, getpid(), &stdout);
	assert_non_null(name);
	assert_true(!strcmp(name, "stdout (test_names)") || !strcmp(name, "stdout (libc.so.6)"));
	/* stdout's lock is a static in libc's .bss, not in .dynsym: the file and its offset */
	name = name_of(n, getpid(), stdout->_lock);
	assert_non_null(name);
	assert_true(!strncmp(name, "libc.so.6+0x", 12));
	ls_names_free(n);
}

static void test_heap(void **state)
{
	struct ls_names *n = ls_names_new();
	char name[64] = "";
	/* the program break itself: what malloc uses for small blocks under glibc, and still the
	 * heap when a sanitizer or valgrind replaces malloc */
	const char *preload = getenv("LD_PRELOAD");
	char *p;

	if (preload && strstr(preload, "vgpreload")) {
		print_message("SKIP: under valgrind the program break is emulated, not [heap]\n");
		ls_names_free(n);
		skip();
	}
	p = sbrk(4096);
	assert_true(p != (void *)-1);
	feed_self(n);
	ls_names_lookup(n, getpid(), (unsigned long)p + 16, name, sizeof(name));
	ls_names_free(n);
	print_message("  %s\n", name);
	assert_true(!strncmp(name, "[heap]+0x", 9));
}

/* Synthetic records */

static void feed_begin(struct ls_names *n, __u32 tgid, __u32 nr)
{
	struct ls_maps_begin b = { { LS_REC_MAPS_BEGIN, sizeof(b), tgid }, 1, nr, 0 };

	assert_int_equal(ls_names_feed(n, &b.hdr), 0);
}

static void feed_map(struct ls_names *n, __u32 tgid, __u64 start, __u64 end, __u64 pgoff,
		     __u32 prot, const char *path)
{
	union {
		struct ls_map m;
		char raw[sizeof(struct ls_map) + 256];
	} u = {};
	size_t size = (sizeof(u.m) + strlen(path) + 1 + 7) & ~7ul;

	u.m.hdr = (struct ls_rec_hdr){ LS_REC_MAP, size, tgid };
	u.m.start = start;
	u.m.end = end;
	u.m.pgoff = pgoff;
	u.m.prot = prot;
	strcpy(u.m.path, path);
	assert_int_equal(ls_names_feed(n, &u.m.hdr), 0);
}

static void feed_thread(struct ls_names *n, __u32 tgid, __u32 tid, __u64 sp)
{
	struct ls_task_new t = { .hdr = { LS_REC_TASK_NEW, sizeof(t), tid },
				 .tgid = tgid,
				 .parent_tid = tgid,
				 .parent_tgid = tgid,
				 .flags = LS_TASK_THREAD,
				 .user_sp = sp };

	assert_int_equal(ls_names_feed(n, &t.hdr), 0);
}

static const char *name_at(struct ls_names *n, __u32 tgid, __u64 addr)
{
	static char buf[256];

	return ls_names_lookup(n, tgid, addr, buf, sizeof(buf));
}

#define RW (LS_MAP_READ | LS_MAP_WRITE)

static void test_synthetic_mappings(void **state)
{
	struct ls_names *n = ls_names_new();

	feed_thread(n, 500, 502, 0x7f0000fffe00); /* created before the snapshot */
	feed_begin(n, 500, 8);
	feed_map(n, 500, 0x400000, 0x401000, 0, LS_MAP_READ, "/nonexistent/bin/app");
	feed_map(n, 500, 0x401000, 0x402000, 0x1000, RW, "/nonexistent/bin/app");
	feed_map(n, 500, 0x402000, 0x404000, 0, RW, ""); /* app's .bss */
	feed_map(n, 500, 0x1000000, 0x1100000, 0, RW, "[heap]");
	feed_map(n, 500, 0x7f0000000000, 0x7f0001000000, 0, RW, ""); /* 502's stack */
	feed_map(n, 500, 0x7f0002000000, 0x7f0003000000, 0, RW, ""); /* 503's, later */
	feed_map(n, 500, 0x7f0004000000, 0x7f0005000000, 0, RW, "");
	feed_map(n, 500, 0x7ffff0000000, 0x7ffff1000000, 0, RW, "[stack]");
	feed_thread(n, 500, 503, 0x7f0002fffe00); /* created after it */

	/* no such file: the mapping's name, at its offset in the file */
	assert_string_equal(name_at(n, 500, 0x401010), "app+0x1010");
	assert_string_equal(name_at(n, 500, 0x403000), "app+0x3000");
	assert_string_equal(name_at(n, 500, 0x1000040), "[heap]+0x40");
	assert_string_equal(name_at(n, 500, 0x7f0000001000), "[stack:502]");
	assert_string_equal(name_at(n, 500, 0x7f0002001000), "[stack:503]");
	assert_string_equal(name_at(n, 500, 0x7f0004001000), "[anon]");
	assert_string_equal(name_at(n, 500, 0x7ffff0000000), "[stack]");
	assert_string_equal(name_at(n, 500, 0x7ffff0000100), "[stack]+0x100");

	/* a thread that reuses a cached stack owns it from then on */
	feed_thread(n, 500, 504, 0x7f0000fffd00);
	assert_string_equal(name_at(n, 500, 0x7f0000001000), "[stack:504]");
	ls_names_free(n);
}

static void test_not_found(void **state)
{
	struct ls_names *n = ls_names_new();
	char buf[64];

	feed_begin(n, 500, 1);
	feed_map(n, 500, 0x1000000, 0x1100000, 0, RW, "[heap]");
	assert_null(ls_names_lookup(n, 999, 0x1000000, buf, sizeof(buf)));
	assert_null(ls_names_lookup(n, 500, 0x10, buf, sizeof(buf)));
	assert_null(ls_names_lookup(n, 500, 0x1100000, buf, sizeof(buf)));
	/* a snapshot cut short before its last MAP record is not used */
	feed_begin(n, 700, 2);
	feed_map(n, 700, 0x1000000, 0x1100000, 0, RW, "[heap]");
	assert_null(ls_names_lookup(n, 700, 0x1000000, buf, sizeof(buf)));
	/* a thread of a process without a snapshot names nothing */
	feed_thread(n, 800, 801, 0x7f0000fffe00);
	assert_null(ls_names_lookup(n, 800, 0x7f0000fffe00, buf, sizeof(buf)));
	ls_names_free(n);
}

static void test_later_snapshot_replaces(void **state)
{
	struct ls_names *n = ls_names_new();

	feed_begin(n, 600, 1);
	feed_map(n, 600, 0x1000, 0x2000, 0, RW, "[heap]");
	assert_string_equal(name_at(n, 600, 0x1800), "[heap]+0x800");
	feed_begin(n, 600, 2);
	feed_map(n, 600, 0x9000, 0xa000, 0, RW, "[heap]");
	feed_map(n, 600, 0x5000, 0x6000, 0, RW, ""); /* out of order: sorted on arrival */
	assert_null(name_at(n, 600, 0x1800));
	assert_string_equal(name_at(n, 600, 0x5800), "[anon]");
	assert_string_equal(name_at(n, 600, 0x9800), "[heap]+0x800");
	/* an empty snapshot: the process's memory is gone */
	feed_begin(n, 600, 0);
	assert_null(name_at(n, 600, 0x9800));
	ls_names_free(n);
}

static void test_procmaps_gone(void **state)
{
	struct ls_file_header h = test_header();
	struct ls_writer w;
	size_t len;
	char *data;
	FILE *f = open_memstream(&data, &len);
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid); /* reaped: /proc/PID is gone */
	assert_int_equal(ls_writer_init(&w, f, &h), 0);
	assert_int_equal(ls_procmaps_write(&w, pid, 1), -ESRCH);
	assert_int_equal(w.nr_records, 0);
	assert_int_equal(w.bytes, sizeof(h));
	fflush(f);
	assert_int_equal(len, sizeof(h));
	fclose(f);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_globals),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_heap),
		cmocka_unit_test(test_synthetic_mappings),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_later_snapshot_replaces),
		cmocka_unit_test(test_procmaps_gone),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
