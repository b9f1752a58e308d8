/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LS_FOLDED_H
#define LS_FOLDED_H

#include <stdio.h>
#include "analyze.h"

/* Wait time by thread and stack, in the folded format of flame-graph tools; -errno or 0. */
int ls_render_folded(FILE *f, const struct ls_analysis *a);

#endif
