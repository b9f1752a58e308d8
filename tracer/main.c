// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lockscope: the command line. Each sub-command has its own argp parser and examples. */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "python.h"
#include "record.h"
#include "top.h"
#include "unwind.h"
#include "version.h"

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
	"  sudo lockscope record --python-stacks=off -p 1234  # no Python stacks\n"
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
	{ "python-stacks", 'P', "on|off", 0,
	  "CPython's stacks, read in the kernel: of each thread as it starts to wait for the GIL "
	  "(and the holder's) or another lock, and sampled at 100 Hz on a CPU: on (the default, "
	  "wherever a CPython is found), off",
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
	case 'P':
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			argp_error(state, "invalid --python-stacks '%s': on or off", arg);
		o->py_stacks = !strcmp(arg, "on");
		break;
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
		.output = LS_DEFAULT_TRACE,
		.buffer_size = DEFAULT_BUFFER,
		.stack_dump = LS_STACK_DUMP_DEFAULT,
		.py_stacks = true,
	};

	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, &o))
		return 2;
	return record_run(&o);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "record", cmd_record, "record a command (-- CMD) or a running process (-p PID)" },
	{ "report", ls_cmd_report,
	  "print a report of a recording (text, JSON, or for ui.perfetto.dev)" },
	{ "compare", ls_cmd_compare, "put recordings side by side" },
	{ "top", ls_cmd_top, "a live view of a process or a command, summed in the kernel" },
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
		     "  lockscope compare threads.data procs.data\n"
		     "  sudo lockscope top -p $(pgrep -f app.py)\n\n"
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
