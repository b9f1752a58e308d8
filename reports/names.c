// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Naming addresses from memory map snapshots and ELF symbols (see names.h). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "htab.h"
#include "names.h"

/* A memory map sorted by address; each entry a copy of its MAP record, path terminated. */
struct snap {
	struct ls_map **maps;
	size_t nr;
	size_t cap;
};

/* A thread's stack pointer at creation; when threads reuse a stack, the latest (seq) owns it. */
struct thread {
	__u64 sp;
	__u64 seq;
	__u32 tid;
};

struct proc {
	__u32 tgid;
	struct snap cur;  /* the latest complete snapshot */
	struct snap next; /* being read: replaces cur once its want records are in */
	__u32 want;
	struct thread *threads;
	size_t nr_threads;
	size_t cap_threads;
};

struct sym {
	__u64 value;
	__u64 size;
	const char *name;
	int rank; /* binding: among aliases, the lowest is shown */
};

/* One ELF file's symbols, read once per path; not usable when it could not be read. */
struct elf_file {
	struct elf_file *next;
	char *path;
	bool usable;
	bool exec;  /* ET_EXEC: loaded at its link addresses */
	__u64 base; /* lowest PT_LOAD address, page aligned */
	struct sym *syms;
	size_t nr;
	char *strs;
};

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
	struct elf_file *files;
	__u64 seq;
	__u64 page_mask;
	bool have_libelf;
};

/* Snapshots */

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->maps[i]);
	free(s->maps);
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

static bool in_map(const struct ls_map *m, __u64 addr)
{
	return addr >= m->start && addr < m->end;
}

/* The same stack: the same pointer, or two pointers in one mapping of the snapshot. */
static bool same_stack(const struct snap *s, __u64 a, __u64 b)
{
	ssize_t i;

	if (a == b)
		return true;
	i = snap_find(s, a);
	return i >= 0 && in_map(s->maps[i], b);
}

static const struct thread *stack_owner(const struct proc *p, const struct ls_map *m)
{
	const struct thread *best = NULL;

	for (size_t i = 0; i < p->nr_threads; i++) {
		const struct thread *t = &p->threads[i];

		if (in_map(m, t->sp) && (!best || t->seq > best->seq))
			best = t;
	}
	return best;
}

/*
 * A thread on a stack already known (glibc caches stacks) takes that stack's entry, so that
 * entries are bounded by stacks, not by the threads ever created.
 */
static struct thread *thread_slot(struct proc *p, __u64 sp)
{
	struct thread *threads;

	for (size_t i = 0; i < p->nr_threads; i++)
		if (same_stack(&p->cur, p->threads[i].sp, sp))
			return &p->threads[i];
	if (p->nr_threads == p->cap_threads) {
		size_t cap = p->cap_threads ? p->cap_threads * 2 : 16;

		threads = realloc(p->threads, cap * sizeof(*threads));
		if (!threads)
			return NULL;
		p->threads = threads;
		p->cap_threads = cap;
	}
	return &p->threads[p->nr_threads++];
}

/* A new snapshot: stacks it does not hold are gone, and each stack keeps its latest thread. */
static void prune_threads(struct proc *p)
{
	size_t kept = 0, j;

	for (size_t i = 0; i < p->nr_threads; i++) {
		struct thread t = p->threads[i];

		if (snap_find(&p->cur, t.sp) < 0)
			continue;
		for (j = 0; j < kept && !same_stack(&p->cur, p->threads[j].sp, t.sp); j++)
			;
		if (j == kept)
			p->threads[kept++] = t;
		else if (p->threads[j].seq < t.seq)
			p->threads[j] = t;
	}
	p->nr_threads = kept;
}

/* Feeding */

static struct proc *proc_get(struct ls_names *n, __u32 tgid)
{
	return ls_htab_get(&n->procs, &tgid, NULL);
}

static void commit(struct ls_names *n, struct proc *p)
{
	if (p->next.nr) /* an empty snapshot has no array to sort */
		qsort(p->next.maps, p->next.nr, sizeof(*p->next.maps), map_cmp);
	snap_free(&p->cur);
	p->cur = p->next;
	memset(&p->next, 0, sizeof(p->next));
	n->building = NULL;
	prune_threads(p);
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
		commit(n, p);
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
		commit(n, p);
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
	*t = (struct thread){ .sp = e->user_sp, .seq = ++n->seq, .tid = e->hdr.tid };
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

int ls_open_regular(const char *path, __u64 inode)
{
	struct stat st;
	int fd;

	/* stat first: opening a mapped device node can have side effects */
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || (inode && st.st_ino != inode))
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

static int open_mapped(__u32 tgid, const struct ls_map *m)
{
	char path[PATH_MAX + 32];
	int fd;

	/* through the process's own root: it may live in a container */
	snprintf(path, sizeof(path), "/proc/%u/root%s", tgid, m->path);
	fd = ls_open_regular(path, m->inode);
	return fd >= 0 ? fd : ls_open_regular(m->path, m->inode);
}

static int read_layout(struct elf_file *f, Elf *e, __u64 page_mask)
{
	__u64 lowest = UINT64_MAX;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	size_t nr;

	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) || elf_getphdrnum(e, &nr))
		return -EINVAL;
	for (size_t i = 0; i < nr; i++)
		if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < lowest)
			lowest = ph.p_vaddr;
	if (lowest == UINT64_MAX)
		return -ENOENT;
	f->exec = eh.e_type == ET_EXEC;
	f->base = lowest & page_mask;
	return 0;
}

/* .symtab has the local and static symbols too; a stripped file keeps only .dynsym. */
static Elf_Scn *symtab_scn(Elf *e, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL, *dyn = NULL;
	GElf_Shdr dyn_sh;

	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, sh))
			continue;
		if (sh->sh_type == SHT_SYMTAB)
			return scn;
		if (sh->sh_type == SHT_DYNSYM) {
			dyn = scn;
			dyn_sh = *sh;
		}
	}
	if (dyn)
		*sh = dyn_sh;
	return dyn;
}

static bool sym_wanted(const GElf_Sym *s)
{
	if (s->st_shndx == SHN_UNDEF)
		return false;
	switch (GELF_ST_TYPE(s->st_info)) {
	case STT_OBJECT:
	case STT_FUNC:
	case STT_COMMON:
		return true;
	case STT_NOTYPE:
		return s->st_size > 0;
	default: /* STT_TLS values are offsets in each thread's block, not addresses */
		return false;
	}
}

static int sym_rank(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	/* the public alias ("environ", weak) before the internal one ("__environ") */
	if (strspn(x->name, "_") != strspn(y->name, "_"))
		return strspn(x->name, "_") < strspn(y->name, "_") ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

static size_t collect_syms(Elf_Data *data, size_t nr, const char *strs, size_t strs_len,
			   struct sym *syms)
{
	size_t kept = 0;
	GElf_Sym s;

	for (size_t i = 0; i < nr; i++) {
		if (!gelf_getsym(data, i, &s) || !sym_wanted(&s) || s.st_name >= strs_len)
			continue;
		syms[kept++] =
			(struct sym){ s.st_value, s.st_size, strs + s.st_name, sym_rank(&s) };
	}
	return kept;
}

static int read_syms(struct elf_file *f, Elf *e)
{
	Elf_Data *data, *str;
	struct sym *syms;
	GElf_Shdr sh;
	size_t nr;
	char *strs;
	Elf_Scn *scn = symtab_scn(e, &sh);

	if (!scn || !sh.sh_entsize)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	str = elf_getdata(elf_getscn(e, sh.sh_link), NULL);
	if (!data || !str || !str->d_buf)
		return -EINVAL;
	nr = sh.sh_size / sh.sh_entsize;
	syms = calloc(nr ? nr : 1, sizeof(*syms));
	strs = malloc(str->d_size + 1);
	if (!syms || !strs) {
		free(syms);
		free(strs);
		return -ENOMEM;
	}
	memcpy(strs, str->d_buf, str->d_size);
	strs[str->d_size] = '\0';
	f->nr = collect_syms(data, nr, strs, str->d_size, syms);
	qsort(syms, f->nr, sizeof(*syms), sym_cmp);
	f->syms = syms;
	f->strs = strs;
	return 0;
}

size_t ls_elf_build_id(struct Elf *e, __u8 *id, size_t max)
{
	GElf_Phdr ph;
	size_t nr;

	if (elf_getphdrnum(e, &nr))
		return 0;
	for (size_t i = 0; i < nr; i++) {
		Elf_Data *d;
		GElf_Nhdr nh;
		size_t off = 0, name, desc;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		while (d && (off = gelf_getnote(d, off, &nh, &name, &desc)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + name, "GNU", 4) && nh.n_descsz <= max) {
				memcpy(id, (char *)d->d_buf + desc, nh.n_descsz);
				return nh.n_descsz;
			}
		}
	}
	return 0;
}

/* The file is the one the recording saw, as far as its build ID tells. */
static bool same_build(const struct ls_names *n, Elf *e, const char *path)
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

static int elf_load(struct ls_names *n, struct elf_file *f, __u32 tgid, const struct ls_map *m)
{
	int fd = open_mapped(tgid, m), err;
	Elf *e;

	if (fd < 0)
		return -ENOENT;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = e ? read_layout(f, e, n->page_mask) : -EINVAL;
	if (!err && !same_build(n, e, m->path))
		err = -ESTALE;
	if (!err)
		err = read_syms(f, e);
	elf_end(e);
	close(fd);
	return err;
}

/* The cached symbols of m's file, read on first use; NULL when out of memory. */
static struct elf_file *elf_get(struct ls_names *n, __u32 tgid, const struct ls_map *m)
{
	struct elf_file *f;

	for (f = n->files; f; f = f->next)
		if (!strcmp(f->path, m->path))
			return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(m->path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->usable = n->have_libelf && !elf_load(n, f, tgid, m);
	f->next = n->files;
	n->files = f;
	return f;
}

static void elf_free(struct elf_file *f)
{
	free(f->syms);
	free(f->strs);
	free(f->path);
	free(f);
}

static bool sym_holds(const struct sym *s, __u64 va)
{
	return s->size ? va - s->value < s->size : va == s->value;
}

/* The symbol holding va, among the aliases of the nearest symbol at or below it. */
static const struct sym *sym_find(const struct elf_file *f, __u64 va)
{
	size_t lo = 0, hi = f->nr, first;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].value <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	for (first = lo - 1; first && f->syms[first - 1].value == f->syms[lo - 1].value; first--)
		;
	for (; first < lo; first++)
		if (sym_holds(&f->syms[first], va))
			return &f->syms[first];
	return NULL;
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
static bool load_bias(const struct snap *s, const struct elf_file *f, __u64 *bias)
{
	if (f->exec) {
		*bias = 0;
		return true;
	}
	for (size_t i = 0; i < s->nr; i++) {
		if (!s->maps[i]->pgoff && !strcmp(s->maps[i]->path, f->path)) {
			*bias = s->maps[i]->start - f->base;
			return true;
		}
	}
	return false;
}

static bool name_symbol(struct ls_names *n, __u32 tgid, const struct snap *s,
			const struct ls_map *file, __u64 addr, bool func_only, char *buf,
			size_t len)
{
	struct elf_file *f = elf_get(n, tgid, file);
	const struct sym *sym;
	__u64 bias;

	if (!f || !f->usable || !load_bias(s, f, &bias))
		return false;
	sym = sym_find(f, addr - bias);
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
	return buf;
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
	long page = sysconf(_SC_PAGESIZE);

	if (!n)
		return NULL;
	ls_htab_init(&n->procs, sizeof(struct proc), offsetof(struct proc, tgid), sizeof(__u32));
	ls_htab_init(&n->ids, sizeof(struct recorded_id), offsetof(struct recorded_id, path_hash),
		     sizeof(__u64));
	n->page_mask = ~(__u64)((page > 0 ? page : 4096) - 1);
	/* without libelf, names fall back to mappings */
	n->have_libelf = elf_version(EV_CURRENT) != EV_NONE;
	return n;
}

void ls_names_free(struct ls_names *n)
{
	struct proc *p;
	size_t pos = 0;

	if (!n)
		return;
	while ((p = ls_htab_next(&n->procs, &pos))) {
		snap_free(&p->cur);
		snap_free(&p->next);
		free(p->threads);
	}
	ls_htab_free(&n->procs);
	ls_htab_free(&n->ids);
	while (n->files) {
		struct elf_file *f = n->files;

		n->files = f->next;
		elf_free(f);
	}
	free(n);
}
