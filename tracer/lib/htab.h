/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small hash table of fixed-size entries, each allocated once, so that pointers to entries stay
 * valid while the table grows. Keys are byte strings inside the entry. The hash is SipHash-1-3
 * under a key drawn at random once per process: a trace cannot choose keys that collide. Entries
 * are visited in the order they were added, so that what is printed does not depend on that key.
 */
#ifndef LS_HTAB_H
#define LS_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ls_htab {
	void **entries; /* in the order they were added */
	size_t nr;	/* entries */
	size_t cap_entries;
	uint32_t *slots; /* 1 + the index of an entry in entries, 0 for a free slot */
	size_t cap;	 /* slots: a power of two, or 0 */
	size_t entry_size;
	size_t key_offset;
	size_t key_size;
};

void ls_htab_init(struct ls_htab *h, size_t entry_size, size_t key_offset, size_t key_size);
void ls_htab_free(struct ls_htab *h);
void *ls_htab_find(const struct ls_htab *h, const void *key);
/* Find, or add a zeroed entry with that key; NULL when out of memory. */
void *ls_htab_get(struct ls_htab *h, const void *key, bool *created);
/* The entry after *pos (start with 0), in the order they were added; NULL at the end. */
void *ls_htab_next(const struct ls_htab *h, size_t *pos);
/* The entries sorted by cmp (on pointers to entries; NULL: in the order they were added),
 * NULL-terminated; the caller frees it. */
void **ls_htab_sorted(const struct ls_htab *h, int (*cmp)(const void *, const void *));
/* SipHash-1-3 of len bytes under the process's random key (for callers' own tables). */
uint64_t ls_hash(const void *data, size_t len);

#endif
