// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope report and lockscope compare: their options, reading the traces, building each one's
 * report model, and handing it to a renderer.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "compare.h"
#include "folded.h"
#include "render.h"
#include "render_chrome.h"
#include "render_json.h"

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CHROME, FORMAT_FOLDED };

struct report_opts {
	const char *input;
	unsigned int top;
	unsigned int lanes;
	bool no_timeline;
	bool no_fold;
	bool stacks;
	enum format format;
};

#define OPT_NO_FOLD 256 /* a long option only */

/* The formats a command takes, first to last */
static int parse_format(const char *arg, enum format last, enum format *format)
{
	static const char *const names[] = { "text", "json", "chrome", "folded" };

	for (unsigned int f = FORMAT_TEXT; f <= last; f++) {
		if (!strcmp(arg, names[f])) {
			*format = f;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Read and analyse a trace, watched by obs (NULL: none). 0 when complete; 1 when cut short (a is
 * usable, and the reason was printed); -1 when it cannot be used (the reason was printed).
 */
static int load(const char *cmd, const char *path, struct ls_analysis *a,
		const struct ls_observer *obs)
{
	char err[256];
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "lockscope %s: cannot open %s: %s%s\n", cmd, path, strerror(errno),
			errno == ENOENT ? " (record one with: sudo lockscope record -- CMD)" : "");
		return -1;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	ret = ls_analyze_file_observed(f, a, obs, err, sizeof(err));
	fclose(f);
	if (ret < 0)
		fprintf(stderr, "lockscope %s: %s: %s\n", cmd, path, err);
	else if (ret > 0)
		fprintf(stderr, "lockscope %s: %s: %s\n", cmd, path, a->status);
	else if (!a->threads.nr)
		fprintf(stderr, "lockscope %s: %s: no traced thread in this recording\n", cmd,
			path);
	return ret;
}

static const char report_doc[] =
	"Print a report of a recording: text, JSON, or a timeline for ui.perfetto.dev.\n"
	"\n"
	"EXAMPLES:\n"
	"  lockscope report                  # reads lockscope.data\n"
	"  lockscope report --top 5 gil.data\n"
	"  lockscope report --format json gil.data > gil.json\n"
	"  lockscope report --format chrome gil.data > trace.json  # ui.perfetto.dev\n"
	"  lockscope report --stacks app.data  # call sites' stacks (record --stacks)\n"
	"  lockscope report --format folded app.data |\n"
	"      flamegraph.pl --countname=ns > waits.svg\n"
	"\n"
	"EXIT STATUS: 0; 1 when the file cannot be read or was cut short (the report of what it "
	"holds is still printed); 64 for bad usage.\v";

static const struct argp_option report_options[] = {
	{ "top", 't', "N", 0, "Show the N futex words with the most wait time (default 10)", 0 },
	{ "lanes", 'l', "N", 0, "Threads in the timeline (default 16)", 0 },
	{ "no-timeline", 'T', NULL, 0, "Leave the timeline out", 0 },
	{ "no-fold", OPT_NO_FOLD, NULL, 0,
	  "Show every process in the threads table and the timeline; by default short-lived "
	  "processes that did little are folded into one line",
	  0 },
	{ "stacks", 's', NULL, 0,
	  "With a recording made with --stacks: show each call site's top stack, not only its "
	  "caller",
	  0 },
	{ "format", 'f', "FMT", 0,
	  "text (default), json (keys: reports/JSON.md), chrome (Trace Event Format: each "
	  "thread's states, hand-offs, busy threads, for ui.perfetto.dev or chrome://tracing), or "
	  "folded (blocked wait time in ns by thread and stack, for flame graphs)",
	  0 },
	{},
};

static error_t report_parse(int key, char *arg, struct argp_state *state)
{
	struct report_opts *o = state->input;
	char *end;
	long v;

	switch (key) {
	case 't':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v <= 0 || v > 100000)
			argp_error(state, "invalid --top '%s'", arg);
		o->top = v;
		break;
	case 'l':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v <= 0 || v > 100000)
			argp_error(state, "invalid --lanes '%s'", arg);
		o->lanes = v;
		break;
	case 'T':
		o->no_timeline = true;
		break;
	case OPT_NO_FOLD:
		o->no_fold = true;
		break;
	case 's':
		o->stacks = true;
		break;
	case 'f':
		if (parse_format(arg, FORMAT_FOLDED, &o->format))
			argp_error(state, "unknown format '%s': text, json, chrome or folded", arg);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_error(state, "give one trace file");
		o->input = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* The Trace Event Format, written to stdout while the trace is read. */
static int report_chrome(const struct report_opts *o)
{
	struct ls_chrome *c = ls_chrome_new(stdout);
	struct ls_analysis a;
	int ret, err;

	if (!c) {
		fprintf(stderr, "lockscope report: out of memory\n");
		return 1;
	}
	ret = load("report", o->input, &a, ls_chrome_observer(c));
	err = ls_chrome_finish(c, ret < 0 ? NULL : &a);
	ls_chrome_free(c);
	if (err)
		fprintf(stderr, "lockscope report: writing the trace: %s\n", strerror(-err));
	if (ret < 0)
		return 1;
	ret = ret || err || !a.threads.nr;
	ls_analysis_free(&a);
	return ret;
}

int ls_cmd_report(int argc, char **argv)
{
	static const struct argp argp = { .options = report_options,
					  .parser = report_parse,
					  .args_doc = "[FILE]",
					  .doc = report_doc };
	struct report_opts o = { .input = LS_DEFAULT_TRACE, .top = 10, .lanes = 16 };
	struct ls_render_opts ro;
	struct ls_analysis a;
	struct ls_report r;
	int ret;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	ro = (struct ls_render_opts){
		.top = o.top, .lanes = o.lanes, .no_timeline = o.no_timeline, .stacks = o.stacks
	};
	if (o.format == FORMAT_CHROME)
		return report_chrome(&o);
	ret = load("report", o.input, &a, NULL);
	if (ret < 0)
		return 1;
	if (o.format == FORMAT_FOLDED) {
		if (!a.has_stacks && !a.py.folds.nr) {
			fprintf(stderr,
				"lockscope report: %s has no stacks: record with --stacks\n",
				o.input);
			ret = 1;
		} else if (ls_render_folded(stdout, &a)) {
			fprintf(stderr, "lockscope report: out of memory\n");
			ret = 1;
		}
	} else if (ls_report_build(&r, &a, o.input, !o.no_fold)) {
		fprintf(stderr, "lockscope report: out of memory\n");
		ret = 1;
	} else {
		if (o.format == FORMAT_JSON)
			ls_render_json(stdout, &r);
		else
			ls_render_text(stdout, &r, &ro);
		ls_report_free(&r);
	}
	ret = ret || !a.threads.nr;
	ls_analysis_free(&a);
	return ret;
}

struct compare_opts {
	const char *paths[LS_COMPARE_MAX];
	int n;
	enum format format;
};

static const char compare_doc[] =
	"Put recordings side by side: parallelism, lock and GIL waits, hand-offs, switches, the "
	"verdict, and the speed-up of each against the first.\n"
	"\n"
	"EXAMPLES:\n"
	"  lockscope compare threads.data procs.data\n"
	"  lockscope compare --format json a.data b.data c.data\n"
	"\n"
	"EXIT STATUS: 0; 1 when a file cannot be read or was cut short; 64 for bad usage.\v";

static const struct argp_option compare_options[] = {
	{ "format", 'f', "FORMAT", 0, "text (default) or json (keys: reports/JSON.md)", 0 },
	{},
};

static error_t compare_parse(int key, char *arg, struct argp_state *state)
{
	struct compare_opts *o = state->input;

	switch (key) {
	case 'f':
		if (parse_format(arg, FORMAT_JSON, &o->format))
			argp_error(state, "unknown format '%s': text or json", arg);
		break;
	case ARGP_KEY_ARG:
		if (o->n == LS_COMPARE_MAX)
			argp_error(state, "at most %d recordings", LS_COMPARE_MAX);
		o->paths[o->n++] = arg;
		break;
	case ARGP_KEY_END:
		if (o->n < 2)
			argp_error(state, "give two recordings or more");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int ls_cmd_compare(int argc, char **argv)
{
	static const struct argp argp = { .options = compare_options,
					  .parser = compare_parse,
					  .args_doc = "A B [C ...]",
					  .doc = compare_doc };
	struct ls_analysis a[LS_COMPARE_MAX];
	struct ls_report r[LS_COMPARE_MAX];
	struct compare_opts o = { .n = 0 };
	int loaded = 0, built = 0, bad = 0;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	for (; loaded < o.n; loaded++) {
		int ret = load("compare", o.paths[loaded], &a[loaded], NULL);

		if (ret < 0)
			break;
		bad |= ret > 0 || !a[loaded].threads.nr;
	}
	for (; loaded == o.n && built < o.n; built++) {
		if (ls_report_build(&r[built], &a[built], o.paths[built], true)) {
			fprintf(stderr, "lockscope compare: out of memory\n");
			break;
		}
	}
	if (built == o.n) {
		if (o.format == FORMAT_JSON)
			ls_compare_json(stdout, r, o.n);
		else
			ls_compare_text(stdout, r, o.n);
	}
	for (int i = 0; i < built; i++)
		ls_report_free(&r[i]);
	for (int i = 0; i < loaded; i++)
		ls_analysis_free(&a[i]);
	return built < o.n || bad ? 1 : 0;
}
