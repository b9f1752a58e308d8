// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target (make fuzz): any bytes as a trace file through the reader, the analysis and
 * every renderer. A crash, a sanitizer report, a hang or runaway memory is a bug.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "analyze.h"
#include "compare.h"
#include "folded.h"
#include "render.h"
#include "render_chrome.h"
#include "render_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_render_opts o = { .top = 10, .lanes = 16, .stacks = true };
	struct ls_analysis a;
	struct ls_report r[2];
	struct ls_chrome *chrome;
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *in, *out;

	if (!size)
		return 0;
	in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	if (ls_analyze_file(in, &a, err, sizeof(err)) >= 0) {
		out = open_memstream(&buf, &len);
		if (!ls_report_build(&r[0], &a, "a", true)) {
			if (!ls_report_build(&r[1], &a, "b", false)) {
				ls_render_text(out, &r[1], &o);
				ls_compare_text(out, r, 2);
				ls_report_free(&r[1]);
			}
			ls_render_text(out, &r[0], &o);
			ls_render_json(out, &r[0]);
			ls_report_free(&r[0]);
		}
		ls_render_folded(out, &a);
		fclose(out);
		free(buf);
		ls_analysis_free(&a);
	}
	/* the streaming one: a second pass with it watching */
	rewind(in);
	out = open_memstream(&buf, &len);
	chrome = ls_chrome_new(out);
	if (chrome) {
		int ret = ls_analyze_file_observed(in, &a, ls_chrome_observer(chrome), err,
						   sizeof(err));

		ls_chrome_finish(chrome, ret >= 0 ? &a : NULL);
		ls_chrome_free(chrome);
		if (ret >= 0)
			ls_analysis_free(&a);
	}
	fclose(out);
	free(buf);
	fclose(in);
	return 0;
}
