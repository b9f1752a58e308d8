// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Naming addresses from memory map snapshots and ELF symbols (see names.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "elffile.h"
#include "escape.h"
#include "htab.h"
#include "names.h"
#include "safeopen.h"

/* A memory map sorted by address; each entry a copy of its MAP record, path terminated. */
struct snap {
	struct ls_map **maps;
	size_t nr;
	size_t cap;
	struct ls_htab bases; /* struct file_base by path: where each file is loaded */
};

/* The start of a file's mapping at offset 0, the first in address order (its load address) */
struct file_base {
	__u64 path_hash; /* key */
	__u64 start;
};

/*
 * A thread's stack pointer at creation; when threads reuse a stack, the latest (seq) owns it.
 * Keyed by its stack: the start of the snapshot's mapping that holds sp, else sp itself.
 */
struct thread {
	struct {
		__u64 where;
		__u64 in_map; /* where is a mapping's start */
	} key;
	__u64 sp;
	__u64 seq;
	__u32 tid;
};

struct proc {
	__u32 tgid;
	struct snap cur;  /* the latest complete snapshot */
	struct snap next; /* being read: replaces cur once its want records are in */
	__u32 want;
	struct ls_htab threads; /* struct thread, one per stack */
};

/* One ELF file's symbols, read once per file; not usable when it could not be read. */
struct elf_file {
	char *path;
	bool usable;
	bool exec;  /* ET_EXEC: loaded at its link addresses */
	__u64 base; /* lowest PT_LOAD address, page aligned */
	struct ls_elf_syms *syms;
};

/* An ELF file by a key: its path's hash, or its device and inode */
struct file_ref {
	struct {
		__u64 a, b;
	} key;
	struct elf_file *file;
};

#define ELF_FILES_MAX 4096 /* files whose symbols are read: beyond, names fall back to mappings */

/* A file's build ID as recorded, by a hash of its path */
struct recorded_id {
	__u64 path_hash;
	__u32 len;
	__u8 id[LS_BUILD_ID_MAX];
};

struct ls_names {
	struct ls_htab procs;  /* struct proc by tgid */
	struct ls_htab ids;    /* struct recorded_id */
	struct proc *building; /* the process whose MAP records come next */
	struct ls_htab files;  /* struct file_ref by path */
	struct ls_htab inodes; /* struct file_ref by device and inode: one read per file */
	__u64 seq;
};

/* Snapshots */

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->maps[i]);
	free(s->maps);
	ls_htab_free(&s->bases);
	memset(s, 0, sizeof(*s));
}

static int snap_add(struct snap *s, const struct ls_map *rec)
{
	struct ls_map **maps, *m;

	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		maps = realloc(s->maps, cap * sizeof(*maps));
		if (!maps)
			return -ENOMEM;
		s->maps = maps;
		s->cap = cap;
	}
	/* one byte more: the path is not trusted to be terminated */
	m = malloc(rec->hdr.size + 1);
	if (!m)
		return -ENOMEM;
	memcpy(m, rec, rec->hdr.size);
	((char *)m)[rec->hdr.size] = '\0';
	s->maps[s->nr++] = m;
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct ls_map *x = *(struct ls_map *const *)a, *y = *(struct ls_map *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Index of the mapping holding addr, or -1. */
static ssize_t snap_find(const struct snap *s, __u64 addr)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->maps[mid]->start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < s->maps[lo - 1]->end ? (ssize_t)lo - 1 : -1;
}

/* Threads */

/* The key of the stack sp lies in: the same pointer, or one mapping of the snapshot. */
static struct thread stack_key(const struct snap *s, __u64 sp)
{
	ssize_t i = snap_find(s, sp);
	struct thread t = { .key = { sp, 0 } };

	if (i >= 0)
		t.key.where = s->maps[i]->start, t.key.in_map = 1;
	return t;
}

static const struct thread *stack_owner(const struct proc *p, const struct ls_map *m)
{
	struct thread key = { .key = { m->start, 1 } };

	return ls_htab_find(&p->threads, &key.key);
}

/*
 * A thread on a stack already known (glibc caches stacks) takes that stack's entry, so that
 * entries are bounded by stacks, not by the threads ever created.
 */
static struct thread *thread_slot(struct proc *p, __u64 sp)
{
	struct thread key = stack_key(&p->cur, sp);

	return ls_htab_get(&p->threads, &key.key, NULL);
}

static void threads_init(struct ls_htab *h)
{
	ls_htab_init(h, sizeof(struct thread), offsetof(struct thread, key),
		     sizeof(((struct thread *)0)->key));
}

/* A new snapshot: stacks it does not hold are gone, and each stack keeps its latest thread. */
static int prune_threads(struct proc *p)
{
	struct ls_htab kept;
	struct thread *t, *k;
	size_t pos = 0;

	threads_init(&kept);
	while ((t = ls_htab_next(&p->threads, &pos))) {
		struct thread key = stack_key(&p->cur, t->sp);

		if (!key.key.in_map)
			continue;
		k = ls_htab_get(&kept, &key.key, NULL);
		if (!k) {
			ls_htab_free(&kept);
			return -ENOMEM;
		}
		if (k->seq < t->seq)
			*k = (struct thread){ key.key, t->sp, t->seq, t->tid };
	}
	ls_htab_free(&p->threads);
	p->threads = kept;
	return 0;
}

/* Feeding */

static struct proc *proc_get(struct ls_names *n, __u32 tgid)
{
	bool created;
	struct proc *p = ls_htab_get(&n->procs, &tgid, &created);

	if (p && created)
		threads_init(&p->threads);
	return p;
}

static __u64 path_hash(const char *path);

/* Where each file of the snapshot is loaded: its first mapping at offset 0. */
static int index_bases(struct snap *s)
{
	ls_htab_init(&s->bases, sizeof(struct file_base), offsetof(struct file_base, path_hash),
		     sizeof(__u64));
	for (size_t i = 0; i < s->nr; i++) {
		__u64 key = path_hash(s->maps[i]->path);
		struct file_base *b;
		bool created;

		if (s->maps[i]->pgoff || s->maps[i]->path[0] != '/')
			continue;
		b = ls_htab_get(&s->bases, &key, &created);
		if (!b)
			return -ENOMEM;
		if (created)
			b->start = s->maps[i]->start;
	}
	return 0;
}

static int commit(struct ls_names *n, struct proc *p)
{
	if (p->next.nr) /* an empty snapshot has no array to sort */
		qsort(p->next.maps, p->next.nr, sizeof(*p->next.maps), map_cmp);
	snap_free(&p->cur);
	p->cur = p->next;
	memset(&p->next, 0, sizeof(p->next));
	n->building = NULL;
	return index_bases(&p->cur) ?: prune_threads(p);
}

static int maps_begin(struct ls_names *n, const struct ls_maps_begin *b)
{
	struct proc *p = proc_get(n, b->hdr.tid);

	if (!p)
		return -ENOMEM;
	snap_free(&p->next);
	p->want = b->nr;
	n->building = p;
	if (!b->nr)
		return commit(n, p);
	return 0;
}

static int map_add(struct ls_names *n, const struct ls_map *rec)
{
	struct proc *p = n->building;
	int err;

	/* a MAP without its BEGIN (or past its count) names nothing */
	if (!p || rec->hdr.size < sizeof(*rec))
		return 0;
	err = snap_add(&p->next, rec);
	if (!err && p->next.nr == p->want)
		err = commit(n, p);
	return err;
}

static int task_new(struct ls_names *n, const struct ls_task_new *e)
{
	struct proc *p;
	struct thread *t;

	if (!e->user_sp)
		return 0;
	p = proc_get(n, e->tgid);
	if (!p)
		return -ENOMEM;
	t = thread_slot(p, e->user_sp);
	if (!t)
		return -ENOMEM;
	t->sp = e->user_sp;
	t->seq = ++n->seq;
	t->tid = e->hdr.tid;
	return 0;
}

/* keyed: a trace cannot make two paths share a recorded build ID */
static __u64 path_hash(const char *path)
{
	return ls_hash(path, strlen(path));
}

static int build_id_add(struct ls_names *n, const struct ls_build_id *b)
{
	__u64 key = path_hash(b->path);
	struct recorded_id *r = ls_htab_get(&n->ids, &key, NULL);

	if (!r)
		return -ENOMEM;
	r->len = b->len;
	memcpy(r->id, b->id, sizeof(r->id));
	return 0;
}

int ls_names_feed(struct ls_names *n, const struct ls_rec_hdr *rec)
{
	switch (rec->type) {
	case LS_REC_BUILD_ID:
		return build_id_add(n, (const void *)rec);
	case LS_REC_MAPS_BEGIN:
		return maps_begin(n, (const void *)rec);
	case LS_REC_MAP:
		return map_add(n, (const void *)rec);
	case LS_REC_TASK_NEW:
		return task_new(n, (const void *)rec);
	default:
		return 0;
	}
}

/* ELF symbols */

static int open_mapped(__u32 tgid, const struct ls_map *m)
{
	/* in the process's own root (it may live in a container) while it runs, then in ours */
	int fd = ls_open_in_root(tgid, m->path, m->inode);

	return fd >= 0 ? fd : ls_open_regular_at(AT_FDCWD, m->path, false, m->inode);
}

/* The file is the one the recording saw, as far as its build ID tells. */
static bool same_build(const struct ls_names *n, struct ls_elf *e, const char *path)
{
	__u64 key = path_hash(path);
	const struct recorded_id *r = ls_htab_find(&n->ids, &key);
	__u8 id[LS_BUILD_ID_MAX];
	size_t len;

	if (!r)
		return true;
	len = ls_elf_build_id(e, id, sizeof(id));
	return len == r->len && !memcmp(id, r->id, len);
}

static int elf_load(struct ls_names *n, struct elf_file *f, int fd, const struct ls_map *m)
{
	struct ls_elf *e;
	int err;

	err = ls_elf_open(&e, fd);
	if (err)
		return err;
	f->exec = ls_elf_is_exec(e);
	err = ls_elf_load_base(e, &f->base);
	if (!err && !same_build(n, e, m->path))
		err = -ESTALE;
	if (!err)
		err = ls_elf_syms_read(e, LS_ELF_BEST, LS_ELF_BY_ADDR, &f->syms);
	ls_elf_close(e);
	return err;
}

static struct file_ref *file_ref(struct ls_htab *h, __u64 a, __u64 b)
{
	struct file_ref key = { .key = { a, b } };

	return ls_htab_get(h, &key.key, NULL);
}

/* A file that names nothing, for a path once too many files were read */
static struct elf_file no_file;

/*
 * The cached symbols of m's file, read on first use; NULL when out of memory. The same file under
 * another path (a trace may spell it many ways) is read once.
 */
static struct elf_file *elf_get(struct ls_names *n, __u32 tgid, const struct ls_map *m)
{
	struct file_ref *by_path = file_ref(&n->files, path_hash(m->path), 0), *by_inode;
	struct elf_file *f;
	struct stat st;
	int fd;

	if (!by_path)
		return NULL;
	if (by_path->file)
		return by_path->file;
	if (n->inodes.nr >= ELF_FILES_MAX)
		return by_path->file = &no_file;
	fd = open_mapped(tgid, m);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return by_path->file = &no_file;
	}
	by_inode = file_ref(&n->inodes, st.st_dev, st.st_ino);
	if (!by_inode || by_inode->file) {
		close(fd);
		return by_inode ? by_path->file = by_inode->file : NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f)
		f->path = strdup(m->path);
	if (!f || !f->path) {
		free(f);
		close(fd);
		return NULL;
	}
	f->usable = !elf_load(n, f, fd, m);
	close(fd);
	return by_path->file = by_inode->file = f;
}

static void elf_free(struct elf_file *f)
{
	ls_elf_syms_free(f->syms);
	free(f->path);
	free(f);
}

/* Naming */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* "name+0xOFF" ("name" at offset 0), then " (file)" when there is one. */
static void put_name(char *buf, size_t len, const char *name, int name_len, __u64 off,
		     const char *file)
{
	char off_s[24] = "";

	if (off)
		snprintf(off_s, sizeof(off_s), "+0x%llx", off);
	snprintf(buf, len, "%.*s%s%s%s%s", name_len, name, off_s, file ? " (" : "", file ?: "",
		 file ? ")" : "");
}

/* Where the file is linked to be, and where it was loaded: the first page of each. */
static bool load_bias(const struct snap *s, const struct elf_file *f, const char *path, __u64 *bias)
{
	__u64 key = path_hash(path);
	const struct file_base *b;

	if (f->exec) {
		*bias = 0;
		return true;
	}
	b = ls_htab_find(&s->bases, &key);
	if (b)
		*bias = b->start - f->base;
	return b;
}

static bool name_symbol(struct ls_names *n, __u32 tgid, const struct snap *s,
			const struct ls_map *file, __u64 addr, bool func_only, char *buf,
			size_t len)
{
	struct elf_file *f = elf_get(n, tgid, file);
	const struct ls_elf_sym *sym;
	__u64 bias;

	if (!f || !f->usable || !load_bias(s, f, file->path, &bias))
		return false;
	sym = ls_elf_sym_at(f->syms, addr - bias);
	if (!sym)
		return false;
	/* .symtab spells a copy-relocated import with its version: "stdout@GLIBC_2.2.5" */
	if (func_only)
		snprintf(buf, len, "%.*s", (int)strcspn(sym->name, "@"), sym->name);
	else
		put_name(buf, len, sym->name, strcspn(sym->name, "@"), addr - bias - sym->value,
			 base_name(file->path));
	return true;
}

/* The anonymous mapping right after a file's writable one is its .bss, zero-filled. */
static bool is_bss(const struct ls_map *prev, const struct ls_map *m)
{
	return !m->path[0] && prev->path[0] == '/' && (prev->prot & LS_MAP_WRITE) &&
	       prev->end == m->start;
}

/* The file-backed mapping whose file the address belongs to, or NULL. */
static const struct ls_map *file_map(const struct proc *p, size_t i)
{
	const struct ls_map *m = p->cur.maps[i];

	if (m->path[0] == '/')
		return m;
	/* a thread's stack pointer inside is surer than adjacency */
	if (!i || stack_owner(p, m) || !is_bss(p->cur.maps[i - 1], m))
		return NULL;
	return p->cur.maps[i - 1];
}

static void name_mapping(const struct proc *p, size_t i, const struct ls_map *file, __u64 addr,
			 char *buf, size_t len)
{
	const struct ls_map *m = p->cur.maps[i];
	const struct thread *t;

	if (file)
		put_name(buf, len, base_name(file->path), INT_MAX, file->pgoff + addr - file->start,
			 NULL);
	else if (m->path[0])
		put_name(buf, len, m->path, INT_MAX, addr - m->start, NULL);
	else if ((t = stack_owner(p, m)))
		snprintf(buf, len, "[stack:%u]", t->tid);
	else
		snprintf(buf, len, "[anon]");
}

static const char *lookup(struct ls_names *n, __u32 tgid, __u64 addr, bool func_only, char *buf,
			  size_t len)
{
	struct proc *p = ls_htab_find(&n->procs, &tgid);
	const struct ls_map *file;
	ssize_t i;

	if (!p || !len)
		return NULL;
	i = snap_find(&p->cur, addr);
	if (i < 0)
		return NULL;
	file = file_map(p, i);
	if (!file || !name_symbol(n, tgid, &p->cur, file, addr, func_only, buf, len))
		name_mapping(p, i, file, addr, buf, len);
	/* paths and symbols come from the trace and the files it names */
	return ls_escape_inplace(buf, len);
}

const char *ls_names_lookup(struct ls_names *n, __u32 tgid, __u64 addr, char *buf, size_t len)
{
	return lookup(n, tgid, addr, false, buf, len);
}

const char *ls_names_function(struct ls_names *n, __u32 tgid, __u64 addr, char *buf, size_t len)
{
	return lookup(n, tgid, addr, true, buf, len);
}

const char *ls_names_module(struct ls_names *n, __u32 tgid, __u64 addr)
{
	struct proc *p = ls_htab_find(&n->procs, &tgid);
	ssize_t i = p ? snap_find(&p->cur, addr) : -1;

	return i >= 0 && p->cur.maps[i]->path[0] == '/' ? base_name(p->cur.maps[i]->path) : NULL;
}

struct ls_names *ls_names_new(void)
{
	struct ls_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	ls_htab_init(&n->procs, sizeof(struct proc), offsetof(struct proc, tgid), sizeof(__u32));
	ls_htab_init(&n->ids, sizeof(struct recorded_id), offsetof(struct recorded_id, path_hash),
		     sizeof(__u64));
	ls_htab_init(&n->files, sizeof(struct file_ref), offsetof(struct file_ref, key),
		     sizeof(((struct file_ref *)0)->key));
	ls_htab_init(&n->inodes, sizeof(struct file_ref), offsetof(struct file_ref, key),
		     sizeof(((struct file_ref *)0)->key));
	return n;
}

void ls_names_free(struct ls_names *n)
{
	struct file_ref *r;
	struct proc *p;
	size_t pos = 0;

	if (!n)
		return;
	while ((p = ls_htab_next(&n->procs, &pos))) {
		snap_free(&p->cur);
		snap_free(&p->next);
		ls_htab_free(&p->threads);
	}
	pos = 0;
	while ((r = ls_htab_next(&n->inodes, &pos)))
		if (r->file)
			elf_free(r->file);
	ls_htab_free(&n->procs);
	ls_htab_free(&n->ids);
	ls_htab_free(&n->files);
	ls_htab_free(&n->inodes);
	free(n);
}
