/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* lockscope compare: recordings side by side (reports/METRICS.md "Comparing recordings"). */
#ifndef LS_COMPARE_H
#define LS_COMPARE_H

#include <stdio.h>
#include "model.h"

#define LS_COMPARE_MAX 16 /* recordings */

/* The models of n recordings (n <= LS_COMPARE_MAX), the first the reference */
void ls_compare_text(FILE *out, const struct ls_report *r, int n);
void ls_compare_json(FILE *out, const struct ls_report *r, int n);

#endif
