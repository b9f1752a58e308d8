/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* lockscope top's renderers for logs and collectors: a line, or a JSON object, per interval. */
#ifndef LS_TOP_LINES_H
#define LS_TOP_LINES_H

#include <stdio.h>
#include "figures.h"

void ls_top_line(FILE *out, const struct ls_top_model *m);
/* JSON lines: reports/JSON.md, "lockscope top" */
void ls_top_json(FILE *out, const struct ls_top_model *m);

#endif
