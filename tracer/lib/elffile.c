// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading a possibly hostile ELF file from a descriptor (see elffile.h). */
#include <errno.h>
#include <gelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elffile.h"

/* A PT_LOAD or PT_NOTE program header: what is used of them */
struct segment {
	__u32 type;
	__u64 vaddr;
	__u64 offset;
	__u64 filesz;
};

struct ls_elf {
	int fd; /* the caller's */
	Elf *elf;
	bool exec;
	__u64 page_mask;
	struct segment *segs;
	size_t nr_segs;
	/* the dynamic section, found on first use */
	bool dyn_looked;
	Elf_Data *dyn;
	size_t dyn_nr, dyn_strs;
};

struct ls_elf_syms {
	struct ls_elf_sym *syms; /* the table's order */
	size_t nr;
	const struct ls_elf_sym **by_addr; /* functions and objects, sorted by address */
	size_t nr_addr;
	char *strs; /* a copy of the string table, terminated */
};

static int read_segments(struct ls_elf *e)
{
	GElf_Phdr ph;
	size_t nr;

	/* libelf caps the count at what fits in the file */
	if (elf_getphdrnum(e->elf, &nr) || nr > LS_ELF_PHDRS_MAX)
		return -ENOEXEC;
	e->segs = calloc(nr ?: 1, sizeof(*e->segs));
	if (!e->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		if (!gelf_getphdr(e->elf, i, &ph) || (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE))
			continue;
		e->segs[e->nr_segs++] =
			(struct segment){ ph.p_type, ph.p_vaddr, ph.p_offset, ph.p_filesz };
	}
	return 0;
}

int ls_elf_open(struct ls_elf **out, int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	struct ls_elf *e;
	GElf_Ehdr eh;
	int err;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->page_mask = ~(__u64)((page > 0 ? page : 4096) - 1);
	/* not ELF_C_READ_MMAP: a mapping of a file truncated under us faults (SIGBUS) on access */
	e->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &eh)) {
		err = -ENOEXEC;
		goto fail;
	}
	e->exec = eh.e_type == ET_EXEC;
	err = read_segments(e);
	if (err)
		goto fail;
	*out = e;
	return 0;
fail:
	ls_elf_close(e);
	return err;
}

void ls_elf_close(struct ls_elf *e)
{
	if (!e)
		return;
	elf_end(e->elf);
	free(e->segs);
	free(e);
}

bool ls_elf_is_exec(const struct ls_elf *e)
{
	return e->exec;
}

int ls_elf_load_base(const struct ls_elf *e, __u64 *base)
{
	__u64 lowest = UINT64_MAX;

	for (size_t i = 0; i < e->nr_segs; i++)
		if (e->segs[i].type == PT_LOAD && e->segs[i].vaddr < lowest)
			lowest = e->segs[i].vaddr;
	if (lowest == UINT64_MAX)
		return -ENOEXEC;
	*base = lowest & e->page_mask;
	return 0;
}

/* The PT_LOAD whose file part holds [vaddr, vaddr + len), or NULL; no sum overflows. */
static const struct segment *load_holding(const struct ls_elf *e, __u64 vaddr, size_t len)
{
	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct segment *s = &e->segs[i];

		if (s->type == PT_LOAD && vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz &&
		    len <= s->filesz - (vaddr - s->vaddr))
			return s;
	}
	return NULL;
}

int ls_elf_file_offset(const struct ls_elf *e, __u64 vaddr, __u64 *off)
{
	const struct segment *s = load_holding(e, vaddr, 1);

	if (!s)
		return -ENOENT;
	*off = vaddr - s->vaddr + s->offset;
	return 0;
}

int ls_elf_read(const struct ls_elf *e, __u64 vaddr, void *buf, size_t len)
{
	const struct segment *s = load_holding(e, vaddr, len ?: 1);
	__u64 off;
	ssize_t n;

	if (!s)
		return -ENOENT;
	off = vaddr - s->vaddr + s->offset;
	if (off > INT64_MAX - len)
		return -EIO;
	n = pread(e->fd, buf, len, off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

size_t ls_elf_build_id(struct ls_elf *e, __u8 *id, size_t max)
{
	for (size_t i = 0; i < e->nr_segs; i++) {
		const struct segment *s = &e->segs[i];
		size_t off = 0, name, desc;
		GElf_Nhdr nh;
		Elf_Data *d;

		/* each read is a copy: a note segment the size of the file is not one to read */
		if (s->type != PT_NOTE || s->filesz > LS_ELF_NOTE_MAX)
			continue;
		d = elf_getdata_rawchunk(e->elf, s->offset, s->filesz, ELF_T_NHDR);
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

int ls_elf_section(struct ls_elf *e, const char *name, __u64 *addr, __u64 *size)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(e->elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			return 0;
		}
	}
	return -ENOENT;
}

/* The first section of type, its header in *sh, or NULL */
static Elf_Scn *section_of_type(struct ls_elf *e, Elf64_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

static void find_dynamic(struct ls_elf *e)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	e->dyn_looked = true;
	scn = section_of_type(e, SHT_DYNAMIC, &sh);
	e->dyn = scn ? elf_getdata(scn, NULL) : NULL;
	if (!e->dyn)
		return;
	/* counted from the data libelf read, not from the header's claims */
	e->dyn_nr = e->dyn->d_size / gelf_fsize(e->elf, ELF_T_DYN, 1, EV_CURRENT);
	e->dyn_strs = sh.sh_link;
}

const char *ls_elf_dynamic_next(struct ls_elf *e, size_t *pos, __s64 *tag)
{
	GElf_Dyn d;

	if (!e->dyn_looked)
		find_dynamic(e);
	for (; *pos < e->dyn_nr; (*pos)++) {
		const char *s;

		if (!gelf_getdyn(e->dyn, *pos, &d) ||
		    (d.d_tag != DT_NEEDED && d.d_tag != DT_SONAME && d.d_tag != DT_RPATH &&
		     d.d_tag != DT_RUNPATH))
			continue;
		s = elf_strptr(e->elf, e->dyn_strs, d.d_un.d_val);
		if (s) {
			(*pos)++;
			*tag = d.d_tag;
			return s;
		}
	}
	return NULL;
}

/* Symbols */

static Elf_Scn *symbol_table(struct ls_elf *e, enum ls_elf_table which, GElf_Shdr *sh)
{
	Elf_Scn *scn;

	switch (which) {
	case LS_ELF_SYMTAB:
		return section_of_type(e, SHT_SYMTAB, sh);
	case LS_ELF_DYNSYM:
		return section_of_type(e, SHT_DYNSYM, sh);
	default:
		scn = section_of_type(e, SHT_SYMTAB, sh);
		return scn ?: section_of_type(e, SHT_DYNSYM, sh);
	}
}

/* A function or an object: what an address can be named by */
static bool addressable(const struct ls_elf_sym *s)
{
	switch (s->type) {
	case STT_OBJECT:
	case STT_FUNC:
	case STT_COMMON:
		return true;
	case STT_NOTYPE:
		return s->size > 0;
	default: /* STT_TLS values are offsets in each thread's block, not addresses */
		return false;
	}
}

static int bind_rank(const struct ls_elf_sym *s)
{
	switch (s->bind) {
	case STB_GLOBAL:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

static int addr_cmp(const void *a, const void *b)
{
	const struct ls_elf_sym *x = *(const struct ls_elf_sym *const *)a;
	const struct ls_elf_sym *y = *(const struct ls_elf_sym *const *)b;
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	/* the public alias ("environ", weak) before the internal one ("__environ") */
	if (ux != uy)
		return ux < uy ? -1 : 1;
	if (bind_rank(x) != bind_rank(y))
		return bind_rank(x) - bind_rank(y);
	return strcmp(x->name, y->name);
}

static int index_by_addr(struct ls_elf_syms *t)
{
	t->by_addr = calloc(t->nr ?: 1, sizeof(*t->by_addr));
	if (!t->by_addr)
		return -ENOMEM;
	for (size_t i = 0; i < t->nr; i++)
		if (addressable(&t->syms[i]))
			t->by_addr[t->nr_addr++] = &t->syms[i];
	qsort(t->by_addr, t->nr_addr, sizeof(*t->by_addr), addr_cmp);
	return 0;
}

/* The defined symbols of data, their names in t->strs (strs_len bytes before its NUL). */
static void collect(struct ls_elf_syms *t, Elf_Data *data, size_t nr, size_t strs_len)
{
	GElf_Sym s;

	for (size_t i = 0; i < nr; i++) {
		if (!gelf_getsym(data, i, &s) || s.st_shndx == SHN_UNDEF || s.st_name >= strs_len)
			continue;
		t->syms[t->nr++] = (struct ls_elf_sym){
			.value = s.st_value,
			.size = s.st_size,
			.name = t->strs + s.st_name,
			.type = GELF_ST_TYPE(s.st_info),
			.bind = GELF_ST_BIND(s.st_info),
		};
	}
}

int ls_elf_syms_read(struct ls_elf *e, enum ls_elf_table which, unsigned int flags,
		     struct ls_elf_syms **out)
{
	struct ls_elf_syms *t = NULL;
	Elf_Data *data, *str;
	size_t nr, entsize;
	GElf_Shdr sh;
	Elf_Scn *scn;
	int err;

	*out = NULL;
	scn = symbol_table(e, which, &sh);
	if (!scn)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	str = elf_getdata(elf_getscn(e->elf, sh.sh_link), NULL);
	entsize = gelf_fsize(e->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!data || !str || !str->d_buf || !entsize)
		return -EINVAL;
	/* what libelf read, not what the header claims; bounded */
	nr = data->d_size / entsize;
	if (nr > LS_ELF_SYMS_MAX)
		nr = LS_ELF_SYMS_MAX;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->syms = calloc(nr ?: 1, sizeof(*t->syms));
	t->strs = malloc(str->d_size + 1);
	if (!t->syms || !t->strs) {
		err = -ENOMEM;
		goto fail;
	}
	/* the table's last string may be unterminated */
	memcpy(t->strs, str->d_buf, str->d_size);
	t->strs[str->d_size] = '\0';
	collect(t, data, nr, str->d_size);
	if (flags & LS_ELF_BY_ADDR) {
		err = index_by_addr(t);
		if (err)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	ls_elf_syms_free(t);
	return err;
}

void ls_elf_syms_free(struct ls_elf_syms *t)
{
	if (!t)
		return;
	free(t->syms);
	free(t->by_addr);
	free(t->strs);
	free(t);
}

const struct ls_elf_sym *ls_elf_sym_named(const struct ls_elf_syms *t, const char *name)
{
	for (size_t i = 0; i < t->nr; i++)
		if (!strcmp(t->syms[i].name, name))
			return &t->syms[i];
	return NULL;
}

const struct ls_elf_sym *ls_elf_sym_next(const struct ls_elf_syms *t, size_t *pos)
{
	return *pos < t->nr ? &t->syms[(*pos)++] : NULL;
}

static bool holds(const struct ls_elf_sym *s, __u64 vaddr)
{
	return s->size ? vaddr - s->value < s->size : vaddr == s->value;
}

const struct ls_elf_sym *ls_elf_sym_at(const struct ls_elf_syms *t, __u64 vaddr)
{
	const struct ls_elf_sym *const *v = t->by_addr;
	size_t lo = 0, hi = t->nr_addr, first;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid]->value <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	for (first = lo - 1; first && v[first - 1]->value == v[lo - 1]->value; first--)
		;
	for (; first < lo; first++)
		if (holds(v[first], vaddr))
			return v[first];
	return NULL;
}
