// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* lockscope top on a terminal: a full screen drawn with ncurses, redrawn every interval. */
#include <ncurses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "screen.h"

#define BAR_WIDTH 30

/* A state's letter in the bars, and its colour pair (1 + the state) */
static const struct {
	char mark;
	short color;
} states[LS_TOP_NR_STATES] = {
	[LS_TOP_RUNNING] = { 'R', COLOR_GREEN }, [LS_TOP_RUNNABLE] = { 'r', COLOR_YELLOW },
	[LS_TOP_LOCK] = { 'L', COLOR_RED },	 [LS_TOP_GIL] = { 'G', COLOR_MAGENTA },
	[LS_TOP_OTHER] = { '.', COLOR_BLUE },
};

static SCREEN *scr;

int ls_top_screen_begin(void)
{
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return -1;
	set_term(scr);
	cbreak();
	noecho();
	curs_set(0);
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	if (has_colors()) {
		start_color();
		use_default_colors();
		for (int i = 0; i < LS_TOP_NR_STATES; i++)
			init_pair(1 + i, COLOR_BLACK, states[i].color);
	}
	return 0;
}

void ls_top_screen_end(void)
{
	if (!scr)
		return;
	endwin();
	delscreen(scr);
	scr = NULL;
	fflush(stdout);
}

int ls_top_screen_key(void)
{
	return scr ? getch() : ERR;
}

/* A thread's states as a bar of BAR_WIDTH cells, each state's cells its share (rounded so that
 * the cells sum to the thread's alive share) */
static void bar(int y, int x, const struct ls_top_thread_view *v)
{
	double acc = 0;
	int drawn = 0;

	mvaddch(y, x, '[');
	for (int k = 0; k < LS_TOP_NR_STATES; k++) {
		int upto;

		acc += v->share[k];
		upto = (int)(acc * BAR_WIDTH + 0.5);
		upto = upto > BAR_WIDTH ? BAR_WIDTH : upto;
		if (upto > drawn && has_colors())
			attron(COLOR_PAIR(1 + k));
		for (; drawn < upto; drawn++)
			mvaddch(y, x + 1 + drawn, states[k].mark);
		if (has_colors())
			attroff(COLOR_PAIR(1 + k));
	}
	for (; drawn < BAR_WIDTH; drawn++)
		mvaddch(y, x + 1 + drawn, ' ');
	mvaddch(y, x + 1 + BAR_WIDTH, ']');
}

/* A line at row y, cut at the screen's width rather than wrapped onto the next row */
static void line(int y, int x, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void line(int y, int x, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (x < COLS)
		mvaddnstr(y, x, buf, COLS - x);
}

/* printf onto the end of buf (len bytes), as far as it goes */
static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

void ls_top_screen_draw(const struct ls_top_model *m, const char *target, bool paused)
{
	const struct ls_summary *s = &m->s;
	const struct ls_top_gil_row *g = m->gil;
	int y = 0, room;
	char buf[512];

	if (!scr)
		return;
	erase();
	snprintf(buf, sizeof(buf), "lockscope top - pid %u %s   %.0fs   every %.1fs   %d CPUs",
		 m->iv->target, target, m->elapsed_s, m->wall_s, m->iv->nr_cpus);
	if (m->iv->other_measured)
		append(buf, sizeof(buf), "   other load %.2f CPUs", m->iv->other_cpus);
	attron(A_BOLD);
	line(y++, 0, "%s", buf);
	attroff(A_BOLD);
	snprintf(buf, sizeof(buf),
		 "parallelism %.2f   %s   %u threads   switches %.0f/s (%.0f involuntary)",
		 s->parallelism, ls_verdict_name(s->verdict), s->threads,
		 s->vol_per_s + s->invol_per_s, s->invol_per_s);
	if (paused)
		append(buf, sizeof(buf), "   [paused]");
	line(y++, 0, "%s", buf);
	if (g) {
		snprintf(buf, sizeof(buf), "GIL pid %u %d.%d: load %.0f%%", g->tgid,
			 g->version >> 16, (g->version >> 8) & 0xff, g->load * 100);
		if (g->handoffs_known)
			append(buf, sizeof(buf), "   hand-offs %.0f/s", g->handoffs / m->wall_s);
		append(buf, sizeof(buf), "   forced %llu   waits %.0f/s",
		       (unsigned long long)g->forced, g->waits / m->wall_s);
		if (g->samples && g->func[0])
			append(buf, sizeof(buf), "   held most in %s (%.0f%% of %llu samples)",
			       g->func, 100.0 * g->func_samples / g->samples,
			       (unsigned long long)g->samples);
		line(y++, 0, "%s", buf);
	}
	if (m->iv->full[LS_TOP_MAP_THREADS] || m->iv->full[LS_TOP_MAP_LOCKS] ||
	    m->iv->full[LS_TOP_MAP_GILS])
		line(y++, 0, "maps full: %llu threads, %llu locks, %llu GILs not counted",
		     (unsigned long long)m->iv->full[LS_TOP_MAP_THREADS],
		     (unsigned long long)m->iv->full[LS_TOP_MAP_LOCKS],
		     (unsigned long long)m->iv->full[LS_TOP_MAP_GILS]);
	y++;
	attron(A_REVERSE);
	line(y++, 0, "%7s %7s %-15s %-*s %5s %5s %5s %5s %5s %8s", "TID", "PID", "COMM",
	     BAR_WIDTH + 2, "R run r runnable L lock G gil", "RUN%", "RBL%", "LOCK%", "GIL%",
	     "OTH%", "SW/s");
	attroff(A_REVERSE);
	room = LINES - y - 4 - (m->nr_locks < 5 ? (int)m->nr_locks : 5);
	for (size_t i = 0; i < m->nr_threads && room > 0; i++, room--, y++) {
		const struct ls_top_thread_view *v = &m->threads[i];

		line(y, 0, "%7u %7u %-15s ", v->r->tid, v->r->tgid, v->r->comm);
		if (COLS > 33 + BAR_WIDTH)
			bar(y, 32, v);
		line(y, 33 + BAR_WIDTH + 1, " %5.1f %5.1f %5.1f %5.1f %5.1f %8.0f",
		     v->share[LS_TOP_RUNNING] * 100, v->share[LS_TOP_RUNNABLE] * 100,
		     v->share[LS_TOP_LOCK] * 100, v->share[LS_TOP_GIL] * 100,
		     v->share[LS_TOP_OTHER] * 100, v->switches_per_s);
	}
	y++;
	attron(A_REVERSE);
	line(y++, 0, "%-24s %7s %10s %10s %10s %11s", "LOCK", "PID", "WAITS/s", "WAITING",
	     "P99 <=", "HAND-OFFS/s");
	attroff(A_REVERSE);
	for (size_t i = 0; i < m->nr_locks && y < LINES - 1; i++, y++) {
		const struct ls_top_lock_view *v = &m->locks[i];

		line(y, 0, "%-24s %7u %10.0f %10.2f %8.3fms %11.0f", v->name, v->r->tgid,
		     v->waits_per_s, v->wait_share, v->p99_ns / 1e6, v->handoffs_per_s);
	}
	attron(A_REVERSE);
	line(LINES - 1, 0,
	     "q quit  space pause  sort: c cpu  l lock  g gil  w switches  t tid  "
	     "(now %s)",
	     ls_top_sort_name(m->sort));
	attroff(A_REVERSE);
	refresh();
}
