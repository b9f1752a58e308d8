/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small hash table of fixed-size entries, each allocated once, so that pointers to entries stay
 * valid while the table grows. Keys are byte strings inside the entry.
 */
#ifndef LS_HTAB_H
#define LS_HTAB_H

#include <stdbool.h>
#include <stddef.h>

struct ls_htab {
	void **slots;
	size_t cap;
	size_t nr;
	size_t entry_size;
	size_t key_offset;
	size_t key_size;
};

void ls_htab_init(struct ls_htab *h, size_t entry_size, size_t key_offset, size_t key_size);
void ls_htab_free(struct ls_htab *h);
void *ls_htab_find(const struct ls_htab *h, const void *key);
/* Find, or add a zeroed entry with that key; NULL when out of memory. */
void *ls_htab_get(struct ls_htab *h, const void *key, bool *created);
/* The entry after *pos (start with 0), or NULL at the end. */
void *ls_htab_next(const struct ls_htab *h, size_t *pos);

#endif
