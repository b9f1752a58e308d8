// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "htab.h"

/*
 * The hash's key, drawn once per process. Linear probing under an unkeyed hash let a trace
 * choose 30,000 tids that all probe one run of slots (seconds per thousand records).
 */
static uint64_t hash_key[2];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
	struct timespec ts;

	if (getrandom(hash_key, sizeof(hash_key), GRND_NONBLOCK) == sizeof(hash_key))
		return;
	/* no entropy yet (early boot): still differs from run to run, and unknown to the file */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	hash_key[0] = (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^ (uintptr_t)&ts;
	hash_key[1] = (uint64_t)getpid() << 32 ^ (uintptr_t)hash_key_init;
}

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = rotl(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = rotl(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = rotl(v2, 32);                                                                 \
	} while (0)

/* SipHash-1-3 (Aumasson and Bernstein; the variant Rust and Python use for their tables) */
uint64_t ls_hash(const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + (len & ~(size_t)7);
	uint64_t v0, v1, v2, v3, m, b = (uint64_t)len << 56;

	pthread_once(&hash_key_once, hash_key_init);
	v0 = 0x736f6d6570736575ULL ^ hash_key[0];
	v1 = 0x646f72616e646f6dULL ^ hash_key[1];
	v2 = 0x6c7967656e657261ULL ^ hash_key[0];
	v3 = 0x7465646279746573ULL ^ hash_key[1];
	for (; p < end; p += 8) {
		memcpy(&m, p, 8); /* little-endian hosts only, as the trace format */
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void ls_htab_init(struct ls_htab *h, size_t entry_size, size_t key_offset, size_t key_size)
{
	memset(h, 0, sizeof(*h));
	h->entry_size = entry_size;
	h->key_offset = key_offset;
	h->key_size = key_size;
}

void ls_htab_free(struct ls_htab *h)
{
	for (size_t i = 0; i < h->nr; i++)
		free(h->entries[i]);
	free(h->entries);
	free(h->slots);
	h->entries = NULL;
	h->slots = NULL;
	h->cap = h->nr = h->cap_entries = 0;
}

static const void *key_of(const struct ls_htab *h, const void *entry)
{
	return (const char *)entry + h->key_offset;
}

/* The slot holding key, or the free slot where it would go. */
static size_t probe(const struct ls_htab *h, const uint32_t *slots, size_t cap, const void *key)
{
	size_t i = ls_hash(key, h->key_size) & (cap - 1);

	while (slots[i] && memcmp(key_of(h, h->entries[slots[i] - 1]), key, h->key_size))
		i = (i + 1) & (cap - 1);
	return i;
}

void *ls_htab_find(const struct ls_htab *h, const void *key)
{
	uint32_t s;

	if (!h->cap)
		return NULL;
	s = h->slots[probe(h, h->slots, h->cap, key)];
	return s ? h->entries[s - 1] : NULL;
}

static int grow(struct ls_htab *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < h->nr; i++)
		slots[probe(h, slots, cap, key_of(h, h->entries[i]))] = i + 1;
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

static int grow_entries(struct ls_htab *h)
{
	size_t cap = h->cap_entries ? h->cap_entries * 2 : 16;
	void **entries;

	if (cap > UINT32_MAX)
		return -1;
	entries = realloc(h->entries, cap * sizeof(*entries));
	if (!entries)
		return -1;
	h->entries = entries;
	h->cap_entries = cap;
	return 0;
}

void *ls_htab_get(struct ls_htab *h, const void *key, bool *created)
{
	void *e = ls_htab_find(h, key);

	if (created)
		*created = false;
	if (e)
		return e;
	if ((h->nr + 1) * 4 > h->cap * 3 && grow(h))
		return NULL;
	if (h->nr == h->cap_entries && grow_entries(h))
		return NULL;
	e = calloc(1, h->entry_size);
	if (!e)
		return NULL;
	memcpy((char *)e + h->key_offset, key, h->key_size);
	h->slots[probe(h, h->slots, h->cap, key)] = h->nr + 1;
	h->entries[h->nr++] = e;
	if (created)
		*created = true;
	return e;
}

void *ls_htab_next(const struct ls_htab *h, size_t *pos)
{
	return *pos < h->nr ? h->entries[(*pos)++] : NULL;
}

void **ls_htab_sorted(const struct ls_htab *h, int (*cmp)(const void *, const void *))
{
	void **v = calloc(h->nr + 1, sizeof(*v)), *e;
	size_t pos = 0, n = 0;

	if (!v)
		return NULL;
	while ((e = ls_htab_next(h, &pos)))
		v[n++] = e;
	if (cmp)
		qsort(v, n, sizeof(*v), cmp);
	return v;
}
