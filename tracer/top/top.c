// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope top: a live view of a running process or a command, its figures summed in the kernel
 * (collect.c) and shown every interval: full screen on a terminal (screen.c), else a line or a
 * JSON object per interval (lines.c).
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ncurses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "collect.h"
#include "escape.h"
#include "launch.h"
#include "lines.h"
#include "figures.h"
#include "screen.h"
#include "target.h"
#include "top.h"

enum out_format { FMT_AUTO, FMT_SCREEN, FMT_TEXT, FMT_JSON };

struct top_args {
	struct ls_top_opts o;
	double duration;
	enum out_format format;
	const char *output; /* -o, or NULL: stdout */
};

static const char top_doc[] =
	"A live view of a running process or a command: how its threads share the CPUs, its "
	"locks and its GIL, every interval. Figures are summed in the kernel: no event is "
	"recorded, memory stays flat however long it runs.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo lockscope top -p $(pgrep -f app.py)  # watch a running service\n"
	"  sudo lockscope top -- python3 app.py       # run it as you, and watch\n"
	"  sudo lockscope top -p 1234 | tee top.log   # a line per interval\n"
	"  sudo lockscope top -i 5 -f json -p 1234 >> top.jsonl  # for a collector\n"
	"\n"
	"On a terminal: q quits, space pauses, c l g w t sort the threads by CPU, lock wait, GIL "
	"wait, switches or tid. Off one (or with --format text) a line per interval; --format "
	"json writes a JSON object per line (reports/JSON.md, \"lockscope top\").\n"
	"\n"
	"It stops when the target has exited, when -d elapses, at q, or at SIGINT, SIGTERM or "
	"SIGHUP; the terminal is restored on each. EXIT STATUS: the command's (128 + signal if it "
	"was killed); 0 with -p; 1 when lockscope fails; 64 for bad usage.\n"
	"\n"
	"Needs root, or CAP_BPF and CAP_PERFMON.\v";

static const struct argp_option top_options[] = {
	{ "pid", 'p', "PID", 0, "Watch a running process and what it forks later", 0 },
	{ "interval", 'i', "SECONDS", 0, "Seconds between updates (default 1; 0.1 to 3600)", 0 },
	{ "duration", 'd', "SECONDS", 0, "Stop after SECONDS", 0 },
	{ "format", 'f', "FORMAT", 0,
	  "screen (the default on a terminal), text (a line per interval: the default "
	  "elsewhere) or json (a JSON object per line)",
	  0 },
	{ "output", 'o', "FILE", 0,
	  "Append the lines to FILE, not stdout (a launched command keeps stdout); made with the "
	  "invoking user's rights under sudo",
	  0 },
	{ "python-stacks", 'P', "on|off", 0,
	  "Sample CPython's stacks to name the function holding the GIL: on (the default), off",
	  0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static int parse_seconds(const char *arg, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}

static error_t top_parse(int key, char *arg, struct argp_state *state)
{
	struct top_args *a = state->input;
	char *end;

	switch (key) {
	case 'p':
		errno = 0;
		a->o.pid = strtol(arg, &end, 10);
		if (errno || *end || a->o.pid <= 0)
			argp_error(state, "invalid PID '%s'", arg);
		break;
	case 'i':
		if (parse_seconds(arg, 0.1, 3600, &a->o.interval))
			argp_error(state, "invalid interval '%s': 0.1 to 3600 seconds", arg);
		break;
	case 'd':
		if (parse_seconds(arg, 1e-3, 1e9, &a->duration))
			argp_error(state, "invalid duration '%s': give seconds, e.g. 60", arg);
		break;
	case 'f':
		if (!strcmp(arg, "screen"))
			a->format = FMT_SCREEN;
		else if (!strcmp(arg, "text"))
			a->format = FMT_TEXT;
		else if (!strcmp(arg, "json"))
			a->format = FMT_JSON;
		else
			argp_error(state, "invalid --format '%s': screen, text or json", arg);
		break;
	case 'o':
		a->output = arg;
		break;
	case 'P':
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			argp_error(state, "invalid --python-stacks '%s': on or off", arg);
		a->o.py_stacks = !strcmp(arg, "on");
		break;
	case 'v':
		a->o.verbose = true;
		break;
	case ARGP_KEY_ARG:
		a->o.argv = &state->argv[state->next - 1];
		a->o.argc = state->argc - state->next + 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!a->o.pid && !a->o.argc)
			argp_error(state, "give a command to run (after --) or -p PID");
		if (a->o.pid && a->o.argc)
			argp_error(state, "give either a command or -p PID, not both");
		if (a->output && a->format == FMT_SCREEN)
			argp_error(state, "-o writes lines: give --format text or json with it");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The keys that sort the threads */
static const struct {
	int key;
	enum ls_top_sort sort;
} sort_keys[] = {
	{ 'c', LS_TOP_SORT_CPU },      { 'l', LS_TOP_SORT_LOCK }, { 'g', LS_TOP_SORT_GIL },
	{ 'w', LS_TOP_SORT_SWITCHES }, { 't', LS_TOP_SORT_TID },
};

struct view {
	enum out_format format;
	FILE *out; /* the lines' */
	enum ls_top_sort sort;
	bool paused, quit, dirty, write_failed;
	char target[64];
	struct ls_top_interval iv;
	struct ls_top_model m;
	bool have;
};

static int show(struct view *v)
{
	ls_top_model_free(&v->m);
	if (ls_top_model_build(&v->m, &v->iv, v->sort))
		return -ENOMEM;
	v->have = true;
	switch (v->format) {
	case FMT_SCREEN:
		if (!v->paused)
			ls_top_screen_draw(&v->m, v->target, false);
		break;
	case FMT_JSON:
		ls_top_json(v->out, &v->m);
		break;
	default:
		ls_top_line(v->out, &v->m);
	}
	/* a collector that went away (SIGPIPE is ignored), a full disk: stop */
	if (v->format != FMT_SCREEN && ferror(v->out)) {
		v->write_failed = true;
		return -EPIPE;
	}
	return 0;
}

/* Keys read since the last look: a sort or a pause redraws what is shown at once */
static void keys(struct view *v)
{
	int c;

	while ((c = ls_top_screen_key()) != ERR) {
		if (c == 'q' || c == 'Q') {
			v->quit = true;
		} else if (c == KEY_RESIZE) {
			v->dirty = true; /* ncurses has the new size: draw to it */
		} else if (c == ' ' || c == 'p') {
			v->paused = !v->paused;
			v->dirty = true;
		} else {
			for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
				if (sort_keys[i].key == c) {
					v->sort = sort_keys[i].sort;
					v->dirty = true;
				}
		}
	}
	if (v->dirty && v->have) {
		v->dirty = false;
		ls_top_model_free(&v->m);
		if (!ls_top_model_build(&v->m, &v->iv, v->sort))
			ls_top_screen_draw(&v->m, v->target, v->paused);
	}
}

static void target_name(struct view *v, const struct top_args *a)
{
	char path[64], comm[32];
	FILE *f;

	if (!a->o.pid) {
		const char *base = strrchr(a->o.argv[0], '/');

		snprintf(comm, sizeof(comm), "%s", base ? base + 1 : a->o.argv[0]);
		snprintf(v->target, sizeof(v->target), "(%s)",
			 ls_escape_inplace(comm, sizeof(comm)));
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", a->o.pid);
	f = fopen(path, "re");
	if (f && fgets(comm, sizeof(comm), f)) {
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(v->target, sizeof(v->target), "(%s)",
			 ls_escape_inplace(comm, sizeof(comm)));
	}
	if (f)
		fclose(f);
}

/*
 * -o FILE, opened for appending with the invoking user's rights (under sudo), as record makes its
 * file: a regular file or a new one, never through a symbolic link. NULL when it cannot be.
 */
static FILE *open_output(const char *path)
{
	struct ls_user_fs fs;
	struct ls_user user;
	struct stat st;
	FILE *f = NULL;
	int fd, err;

	err = ls_user_from_env(&user);
	if (!err)
		err = ls_user_fs_enter(&user, &fs);
	if (err) {
		ls_error(err, "cannot take the invoking user's file rights: %s", strerror(-err));
		return NULL;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	err = fd < 0 ? -errno : 0;
	ls_user_fs_leave(&fs);
	if (err) {
		ls_error(err, "cannot open %s: %s", path, strerror(-err));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		ls_error(-EINVAL, "%s is not a regular file: not appending to it", path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "a");
	if (!f) {
		ls_error(-errno, "cannot open %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

int ls_cmd_top(int argc, char **argv)
{
	static const struct argp argp = { .options = top_options,
					  .parser = top_parse,
					  .args_doc = "-- CMD [ARGS...]\n-p PID",
					  .doc = top_doc };
	struct top_args a = { .o = { .interval = 1, .py_stacks = true } };
	struct view v = { .sort = LS_TOP_SORT_CPU };
	__u64 start, next, period;
	struct ls_top *t;
	int err = 0, status;

	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER, NULL, &a))
		return 2;
	ls_prog_name = "lockscope top";
	v.format = a.format;
	v.out = stdout;
	if (a.output && !(v.out = open_output(a.output)))
		return 1;
	if (v.format == FMT_AUTO && a.output) {
		v.format = FMT_TEXT;
	} else if (v.format == FMT_AUTO) {
		const char *term = getenv("TERM");

		v.format = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term &&
					   strcmp(term, "dumb")
				   ? FMT_SCREEN
				   : FMT_TEXT;
	}
	ls_top_install_signals();
	signal(SIGPIPE, SIG_IGN);
	t = ls_top_open(&a.o);
	if (!t) {
		if (v.out != stdout)
			fclose(v.out);
		return 1;
	}
	target_name(&v, &a);
	if (v.format == FMT_SCREEN && ls_top_screen_begin()) {
		ls_error(0, "cannot use the terminal (TERM=%s): try --format text",
			 getenv("TERM") ? getenv("TERM") : "");
		ls_top_close(t);
		return 1;
	}
	period = a.o.interval * 1e9;
	start = now_ns();
	next = start + period;
	while (!ls_top_stop_signal && !v.quit) {
		__u64 now = now_ns();
		bool gone, over = a.duration > 0 && now >= start + a.duration * 1e9;
		int wait_ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;

		err = ls_top_poll(t, wait_ms < 100 ? wait_ms : 100);
		if (err)
			break;
		if (v.format == FMT_SCREEN)
			keys(&v);
		gone = ls_top_target_gone(t);
		now = now_ns();
		if (now < next && !gone && !over)
			continue;
		err = ls_top_read(t, &v.iv);
		if (!err)
			err = show(&v);
		if (err || gone || over)
			break;
		/* late by more than a period (a stopped terminal): start counting again from now */
		next = now >= next + period ? now + period : next + period;
	}
	ls_top_model_free(&v.m);
	ls_top_screen_end();
	if (err)
		ls_error(err, "%s failed: %s",
			 v.write_failed ? "writing to stdout" : "reading the maps", strerror(-err));
	status = ls_top_close(t);
	if (v.out != stdout && fclose(v.out) && !err) {
		err = -errno;
		ls_error(err, "writing %s failed: %s", a.output, strerror(-err));
	}
	return err ? 1 : status;
}
