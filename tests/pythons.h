/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The interpreters of make pythons (tests/pythons.sh): LS_PYTHONS_LIST, "COMMAND\tLABEL" a line,
 * COMMAND the interpreter's path, or "chroot DIR PATH" for one in a chroot. The tests that run
 * every interpreter make one test of each line.
 */
#ifndef LS_PYTHONS_H
#define LS_PYTHONS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LS_PYTHONS_LIST
#define LS_PYTHONS_LIST LS_BUILD_DIR "/pythons.txt"
#endif

#define PY_WORDS 8 /* of a COMMAND */

struct python {
	const char *label;
	/* the command's words; with a script, "-c" and the script; room for two more; NULL */
	char *argv[PY_WORDS + 5];
	int nr; /* the command's words */
};

/* The list, with "-c" script after each command unless script is NULL: how many, -1 without it. */
static inline int pythons_load(struct python **out, const char *script)
{
	FILE *f = fopen(LS_PYTHONS_LIST, "r");
	struct python *py = NULL, *more;
	char *line = NULL, *tab, *save;
	size_t cap = 0;
	int n = 0, w;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		tab = strchr(line, '\t');
		if (!tab || !(more = realloc(py, (n + 1) * sizeof(*py))))
			continue;
		py = more;
		*tab = '\0';
		memset(&py[n], 0, sizeof(*py));
		py[n].label = strdup(tab + 1);
		w = 0;
		for (char *word = strtok_r(line, " ", &save); word && w < PY_WORDS;
		     word = strtok_r(NULL, " ", &save))
			py[n].argv[w++] = strdup(word);
		py[n].nr = w;
		if (script) {
			py[n].argv[w++] = "-c";
			py[n].argv[w] = (char *)script;
		}
		n++;
	}
	free(line);
	fclose(f);
	*out = py;
	return n;
}

static inline void pythons_free(struct python *py, int n)
{
	for (int i = 0; i < n; i++) {
		free((char *)py[i].label);
		for (int w = 0; w < py[i].nr; w++)
			free(py[i].argv[w]);
	}
	free(py);
}

/*
 * The interpreters the Python issues name, each the last of its kind in py (n of them): the newest
 * pyenv build and its stripped copy, Debian's 3.11, the newest Debian sid one. Into out, as many as
 * the list has: how many.
 */
static inline int pythons_pick(struct python *py, int n, struct python *out[4])
{
	int pick[4] = { -1, -1, -1, -1 }, nr = 0;

	for (int i = 0; i < n; i++) {
		const char *l = py[i].label;

		if (!strncmp(l, "pyenv 3.1", 9))
			pick[strstr(l, "stripped") ? 1 : 0] = i;
		else if (!strcmp(l, "Debian 3.11"))
			pick[2] = i;
		else if (!strncmp(l, "Debian sid", 10))
			pick[3] = i;
	}
	for (int i = 0; i < 4; i++)
		if (pick[i] >= 0)
			out[nr++] = &py[pick[i]];
	return nr;
}

/* The test in place of the list's, when there is none */
static inline void pythons_no_list(void **state)
{
	(void)state;
	print_message("SKIP: no %s: run sudo make pythons first\n", LS_PYTHONS_LIST);
	skip();
}

#endif
