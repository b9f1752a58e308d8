/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* lockscope top's full-screen view (ncurses). */
#ifndef LS_TOP_SCREEN_H
#define LS_TOP_SCREEN_H

#include <stdbool.h>
#include "figures.h"

/* Take the terminal (stdout, keys from stdin). 0, or -1 when it cannot be used. */
int ls_top_screen_begin(void);
/* Give the terminal back as it was: on every way out. */
void ls_top_screen_end(void);
/* A key pressed, or ERR: never waits. */
int ls_top_screen_key(void);
void ls_top_screen_draw(const struct ls_top_model *m, const char *target, bool paused);

#endif
