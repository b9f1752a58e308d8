// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "htab.h"

void ls_htab_init(struct ls_htab *h, size_t entry_size, size_t key_offset, size_t key_size)
{
	memset(h, 0, sizeof(*h));
	h->entry_size = entry_size;
	h->key_offset = key_offset;
	h->key_size = key_size;
}

void ls_htab_free(struct ls_htab *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->slots[i]);
	free(h->slots);
	h->slots = NULL;
	h->cap = h->nr = 0;
}

static size_t hash(const void *key, size_t size)
{
	const unsigned char *p = key;
	uint64_t x = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < size; i++)
		x = (x ^ p[i]) * 1099511628211ULL;
	return x ^ (x >> 29);
}

static const void *key_of(const struct ls_htab *h, const void *entry)
{
	return (const char *)entry + h->key_offset;
}

static size_t probe(const struct ls_htab *h, void **slots, size_t cap, const void *key)
{
	size_t i = hash(key, h->key_size) & (cap - 1);

	while (slots[i] && memcmp(key_of(h, slots[i]), key, h->key_size))
		i = (i + 1) & (cap - 1);
	return i;
}

void *ls_htab_find(const struct ls_htab *h, const void *key)
{
	return h->cap ? h->slots[probe(h, h->slots, h->cap, key)] : NULL;
}

static int grow(struct ls_htab *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	void **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < h->cap; i++)
		if (h->slots[i])
			slots[probe(h, slots, cap, key_of(h, h->slots[i]))] = h->slots[i];
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

void *ls_htab_get(struct ls_htab *h, const void *key, bool *created)
{
	void *e = ls_htab_find(h, key);
	size_t i;

	if (created)
		*created = false;
	if (e)
		return e;
	if ((h->nr + 1) * 4 > h->cap * 3 && grow(h))
		return NULL;
	e = calloc(1, h->entry_size);
	if (!e)
		return NULL;
	memcpy((char *)e + h->key_offset, key, h->key_size);
	i = probe(h, h->slots, h->cap, key);
	h->slots[i] = e;
	h->nr++;
	if (created)
		*created = true;
	return e;
}

void *ls_htab_next(const struct ls_htab *h, size_t *pos)
{
	while (*pos < h->cap) {
		void *e = h->slots[(*pos)++];

		if (e)
			return e;
	}
	return NULL;
}
