/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* JSON rendering of reports and comparisons; the keys are documented in reports/JSON.md. */
#ifndef LS_RENDER_JSON_H
#define LS_RENDER_JSON_H

#include <stdio.h>
#include "json.h"
#include "model.h"

#define LS_JSON_FORMAT 2 /* bumped when a key changes meaning or goes away */

void ls_render_json(FILE *out, const struct ls_report *r);
/* The "recording" and "summary" objects, as report and compare both print them. */
void ls_json_recording(struct ls_json *j, const char *key, const struct ls_report *r);
void ls_json_summary(struct ls_json *j, const char *key, const struct ls_report *r);

#endif
