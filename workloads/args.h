/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* "--name VALUE" options for the workloads, with range checks: a typo must not run a default. */
#ifndef LS_ARGS_H
#define LS_ARGS_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct arg_opt {
	const char *name; /* "--threads" */
	long *num;	  /* an integer in [min, max], or */
	const char **str; /* a string (num == NULL) */
	long min, max;
};

static inline int arg_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Fills the options from argv; -1 on an unknown option, a missing or an out-of-range value. */
static inline int args_parse(int argc, char **argv, const struct arg_opt *opts, int nr_opts)
{
	for (int i = 1; i < argc; i += 2) {
		const struct arg_opt *o = NULL;

		for (int k = 0; k < nr_opts && !o; k++)
			if (!strcmp(argv[i], opts[k].name))
				o = &opts[k];
		if (!o || i + 1 >= argc)
			return -1;
		if (!o->num)
			*o->str = argv[i + 1];
		else if (arg_long(argv[i + 1], o->min, o->max, o->num))
			return -1;
	}
	return 0;
}

#endif
