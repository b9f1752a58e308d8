// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rendered reports of fixed synthetic recordings, compared with tests/golden/. `make golden`
 * rewrites the files on purpose (LS_GOLDEN_UPDATE=1); review the diff before committing it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "compare.h"
#include "render.h"
#include "render_json.h"
#include "synth.h"

#ifndef LS_SOURCE_DIR
#define LS_SOURCE_DIR "."
#endif

enum kind { TEXT, JSON, COMPARE };

static char *render(struct ls_analysis *a, struct ls_analysis *b, enum kind k)
{
	struct ls_render_opts o = { .top = 10, .lanes = 16 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ls_report r[2];

	if (k == COMPARE) {
		assert_int_equal(ls_report_build(&r[0], a, "turns.data", true), 0);
		assert_int_equal(ls_report_build(&r[1], b, "pingpong.data", true), 0);
		ls_compare_text(f, r, 2);
		ls_report_free(&r[1]);
	} else {
		assert_int_equal(ls_report_build(&r[0], a, "synthetic.data", true), 0);
		if (k == TEXT)
			ls_render_text(f, &r[0], &o);
		else
			ls_render_json(f, &r[0]);
	}
	ls_report_free(&r[0]);
	fclose(f);
	return buf;
}

static void check_golden(const char *name, const char *got)
{
	char path[512], *want = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/golden/%s", LS_SOURCE_DIR, name);
	if (getenv("LS_GOLDEN_UPDATE")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
		print_message("rewrote %s\n", path);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s is missing: run make golden", path);
	want = malloc(1 << 20);
	len = fread(want, 1, (1 << 20) - 1, f);
	want[len] = '\0';
	fclose(f);
	if (strcmp(got, want))
		print_message("%s differs; got:\n%s", path, got);
	assert_string_equal(got, want);
	free(want);
}

static void check_width(const char *text)
{
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n > 100)
			fail_msg("line wider than 100 columns (%zu): %.*s", n, (int)n, line);
		line += n + (nl != NULL);
	}
}

static void test_report_turns(void **state)
{
	struct ls_analysis *a = scenario_turns();
	char *out = render(a, NULL, TEXT);

	check_width(out);
	check_golden("turns.txt", out);
	free(out);
	synth_free(a);
}

static void test_report_ping_pong(void **state)
{
	struct ls_analysis *a = scenario_ping_pong();
	char *out = render(a, NULL, TEXT);

	check_width(out);
	check_golden("pingpong.txt", out);
	free(out);
	out = render(a, NULL, JSON);
	check_golden("pingpong.json", out);
	free(out);
	synth_free(a);
}

/* pyenv's shim in miniature: its 30 short-lived processes folded into one line and one lane */
static void test_report_shim(void **state)
{
	struct ls_analysis *a = scenario_shim(5000);
	char *out = render(a, NULL, TEXT);

	check_width(out);
	check_golden("shim.txt", out);
	free(out);
	synth_free(a);
}

/* Python stacks: functions by GIL held, waited and caused, threads' top functions, lock lines */
static void test_report_python(void **state)
{
	struct ls_analysis *a = scenario_python();
	char *out = render(a, NULL, TEXT);

	check_width(out);
	check_golden("python.txt", out);
	free(out);
	out = render(a, NULL, JSON);
	check_golden("python.json", out);
	free(out);
	synth_free(a);
}

static void test_compare(void **state)
{
	struct ls_analysis *a = scenario_turns(), *b = scenario_ping_pong();
	char *out = render(a, b, COMPARE);

	check_width(out);
	check_golden("compare.txt", out);
	free(out);
	synth_free(a);
	synth_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_turns),
		cmocka_unit_test(test_report_ping_pong),
		cmocka_unit_test(test_report_shim),
		cmocka_unit_test(test_report_python),
		cmocka_unit_test(test_compare),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("golden reports", tests, NULL, NULL);
}
