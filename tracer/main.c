// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lockscope: the command line. Each sub-command has its own argp parser and examples. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "compare.h"
#include "python.h"
#include "record.h"
#include "render.h"
#include "render_chrome.h"
#include "render_json.h"
#include "unwind.h"
#include "version.h"

#define DEFAULT_OUTPUT "lockscope.data"
#define DEFAULT_BUFFER (16ULL << 20)

const char *argp_program_version = "lockscope " LOCKSCOPE_VERSION;
const char *argp_program_bug_address = NULL;

/* "16M", "512K", "1G" or bytes */
static int parse_size(const char *s, __u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end || v < 4096 || v > (1ULL << 30))
		return -ERANGE;
	*out = v;
	return 0;
}

static const char record_doc[] =
	"Record lock waits, hand-offs and context switches of a command or a running process.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo lockscope record -- python3 app.py     # run as the invoking user\n"
	"  sudo lockscope record -o gil.data -- ./build/workloads/gil\n"
	"  sudo lockscope record -d 10 -p 1234         # attach to PID 1234 for 10 s\n"
	"  sudo lockscope record -p $(pgrep -f app.py) # where do its threads wait?\n"
	"  sudo lockscope record --gil=probes -- python3 app.py  # the exact GIL\n"
	"  sudo lockscope record --stacks -- ./server  # and the stacks of the waits\n"
	"  lockscope report                            # then read lockscope.data\n"
	"\n"
	"Recording stops when the command and all its descendants have exited (or the PID has "
	"exited), when -d elapses, or at the first Ctrl-C (SIGINT or SIGTERM); a second one kills "
	"lockscope at once, by that signal (status 130 in a shell for SIGINT), leaving the trace "
	"as far as it got.\n"
	"\n"
	"EXIT STATUS: the command's (128 + signal if it was killed); 0 with -p; 1 when lockscope "
	"fails, with the reason on stderr (a PID that exits before recording begins included: "
	"no file is written); 64 for bad usage.\n"
	"\n"
	"Needs root, or CAP_BPF and CAP_PERFMON (README: Requirements and privileges).\v";

static const struct argp_option record_options[] = {
	{ "output", 'o', "FILE", 0,
	  "Trace file (default lockscope.data; an existing one "
	  "becomes FILE.old)",
	  0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS", 0 },
	{ "buffer-size", 'b', "SIZE", 0, "Ring buffer size, e.g. 64M (default 16M)", 0 },
	{ "pid", 'p', "PID", 0, "Attach to a running process and what it forks later", 0 },
	{ "gil", 'g', "MODE", 0,
	  "CPython's GIL: auto (inferred from futex traffic, its load sampled: cheap), "
	  "probes (exact, needs symbols; microseconds per GIL switch), off",
	  0 },
	{ "stacks", 's', "MODE", OPTION_ARG_OPTIONAL,
	  "User stacks of blocking futex waits: dwarf (the default for --stacks: a copy of the "
	  "stack unwound with the programs' CFI, as -O2 code without frame pointers needs), fp "
	  "(frame pointers only, cheaper), off (the default)",
	  0 },
	{ "stack-size", 'S', "SIZE", 0,
	  "Bytes of user stack copied per blocking wait with --stacks=dwarf (default 8K, at most "
	  "32K)",
	  0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static error_t record_parse(int key, char *arg, struct argp_state *state)
{
	struct record_opts *o = state->input;
	char *end;

	switch (key) {
	case 'o':
		o->output = arg;
		break;
	case 'd':
		errno = 0;
		o->duration = strtod(arg, &end);
		if (errno || *end || !(o->duration > 0))
			argp_error(state, "invalid duration '%s': give seconds, e.g. 5 or 0.5",
				   arg);
		break;
	case 'b':
		if (parse_size(arg, &o->buffer_size))
			argp_error(state, "invalid buffer size '%s': 4K to 1G, e.g. 64M", arg);
		break;
	case 'p':
		errno = 0;
		o->pid = strtol(arg, &end, 10);
		if (errno || *end || o->pid <= 0)
			argp_error(state, "invalid PID '%s'", arg);
		break;
	case 'g':
		if (ls_gil_mode_parse(arg, &o->gil_mode))
			argp_error(state, "invalid --gil '%s': auto, probes, futex or off", arg);
		break;
	case 's':
		o->stack_mode = LS_STACKS_DWARF; /* --stacks alone */
		if (arg && ls_stack_mode_parse(arg, &o->stack_mode))
			argp_error(state, "invalid --stacks '%s': dwarf, fp or off", arg);
		break;
	case 'S': {
		__u64 size;

		if (parse_size(arg, &size) || size > LS_STACK_DUMP_MAX)
			argp_error(state, "invalid --stack-size '%s': 4K to 32K", arg);
		/* the kernel copies whole chunks */
		o->stack_dump = size & ~(__u64)(LS_STACK_CHUNK - 1);
		break;
	}
	case 'v':
		o->verbose = true;
		break;
	case ARGP_KEY_ARG:
		/* the command starts here; its own options are not ours */
		o->argv = &state->argv[state->next - 1];
		o->argc = state->argc - state->next + 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!o->pid && !o->argc)
			argp_error(state, "give a command to run (after --) or -p PID");
		if (o->pid && o->argc)
			argp_error(state, "give either a command or -p PID, not both");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmd_record(int argc, char **argv)
{
	static const struct argp argp = { .options = record_options,
					  .parser = record_parse,
					  .args_doc = "-- CMD [ARGS...]\n-p PID",
					  .doc = record_doc };
	struct record_opts o = {
		.output = DEFAULT_OUTPUT,
		.buffer_size = DEFAULT_BUFFER,
		.stack_dump = LS_STACK_DUMP_DEFAULT,
	};

	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, &o))
		return 2;
	return record_run(&o);
}

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

static int cmd_report(int argc, char **argv)
{
	static const struct argp argp = { .options = report_options,
					  .parser = report_parse,
					  .args_doc = "[FILE]",
					  .doc = report_doc };
	struct report_opts o = { .input = DEFAULT_OUTPUT, .top = 10, .lanes = 16 };
	struct ls_render_opts ro;
	struct ls_analysis a;
	int ret;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	if (o.format == FORMAT_CHROME)
		return report_chrome(&o);
	ret = load("report", o.input, &a, NULL);
	if (ret < 0)
		return 1;
	switch (o.format) {
	case FORMAT_JSON:
		ls_render_json(stdout, &a, o.input);
		break;
	case FORMAT_FOLDED:
		if (!a.has_stacks) {
			fprintf(stderr,
				"lockscope report: %s has no stacks: record with --stacks\n",
				o.input);
			ret = 1;
		} else if (ls_render_folded(stdout, &a)) {
			fprintf(stderr, "lockscope report: out of memory\n");
			ret = 1;
		}
		break;
	default:
		ro = (struct ls_render_opts){ .path = o.input,
					      .top = o.top,
					      .lanes = o.lanes,
					      .no_timeline = o.no_timeline,
					      .no_fold = o.no_fold,
					      .stacks = o.stacks };
		ls_render_text(stdout, &a, &ro);
		break;
	}
	ret = ret || !a.threads.nr;
	ls_analysis_free(&a);
	return ret;
}

#define COMPARE_MAX 16

struct compare_opts {
	const char *paths[COMPARE_MAX];
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
		if (o->n == COMPARE_MAX)
			argp_error(state, "at most %d recordings", COMPARE_MAX);
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

static int cmd_compare(int argc, char **argv)
{
	static const struct argp argp = { .options = compare_options,
					  .parser = compare_parse,
					  .args_doc = "A B [C ...]",
					  .doc = compare_doc };
	struct ls_analysis a[COMPARE_MAX];
	struct ls_compared c[COMPARE_MAX];
	struct compare_opts o = { .n = 0 };
	int loaded = 0, bad = 0;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 2;
	for (; loaded < o.n; loaded++) {
		int ret = load("compare", o.paths[loaded], &a[loaded], NULL);

		if (ret < 0)
			break;
		bad |= ret > 0 || !a[loaded].threads.nr;
		c[loaded] = (struct ls_compared){ o.paths[loaded], &a[loaded] };
	}
	if (loaded == o.n) {
		if (o.format == FORMAT_JSON)
			ls_compare_json(stdout, c, o.n);
		else
			ls_compare_text(stdout, c, o.n);
	}
	for (int i = 0; i < loaded; i++)
		ls_analysis_free(&a[i]);
	return loaded < o.n || bad ? 1 : 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "record", cmd_record, "record a command (-- CMD) or a running process (-p PID)" },
	{ "report", cmd_report,
	  "print a report of a recording (text, JSON, or for ui.perfetto.dev)" },
	{ "compare", cmd_compare, "put recordings side by side" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: lockscope COMMAND [OPTIONS]\n\n"
		     "lockscope shows how a program's threads share its locks: lock waits, "
		     "hand-offs,\ncontext switches, and how many CPUs are really busy.\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nExamples:\n"
		     "  sudo lockscope record -- python3 app.py\n"
		     "  lockscope report\n"
		     "  lockscope compare threads.data procs.data\n\n"
		     "Run 'lockscope COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("%s\n", argp_program_version);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char name[32];

		if (!strcmp(argv[1], commands[i].name)) {
			/* argp names "lockscope record" in its messages */
			snprintf(name, sizeof(name), "lockscope %s", commands[i].name);
			argv[1] = name;
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "lockscope: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
