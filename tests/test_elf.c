// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ELF reader (tracer/lib/elffile.h) on this test's own executable, checked against what the
 * dynamic loader mapped (dl_iterate_phdr); then on copies of it cut short, cut short while open,
 * and with corrupt headers: each must fail cleanly or give bounded answers, never crash (the
 * sanitize build checks every access).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "elffile.h"

/* Things of this program to find in its file */
int data_words[4] = { 0x11223344, 0x55667788, 0x0badcafe, 0x600dd00d };
static unsigned long bss_words[1 << 12] __attribute__((used));

__attribute__((noinline, used)) int elf_test_marker(int x)
{
	return x * 3 + data_words[x & 3];
}

/* The main program as the loader mapped it */
struct self {
	__u64 bias;
	const ElfW(Phdr) * phdr;
	size_t phnum;
};

static int first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct self *s = arg;

	s->bias = info->dlpi_addr;
	s->phdr = info->dlpi_phdr;
	s->phnum = info->dlpi_phnum;
	return 1; /* the first is the program itself */
}

static struct self self_mapped(void)
{
	struct self s = { 0 };

	dl_iterate_phdr(first_object, &s);
	assert_non_null(s.phdr);
	return s;
}

/* The file offset of vaddr from the loader's program headers, or -1 */
static __s64 expected_offset(const struct self *s, __u64 vaddr)
{
	for (size_t i = 0; i < s->phnum; i++) {
		const ElfW(Phdr) *ph = &s->phdr[i];

		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr &&
		    vaddr < ph->p_vaddr + ph->p_filesz)
			return vaddr - ph->p_vaddr + ph->p_offset;
	}
	return -1;
}

/* The GNU build ID from the mapped notes; its length, 0 if none */
static size_t expected_build_id(const struct self *s, __u8 *id)
{
	for (size_t i = 0; i < s->phnum; i++) {
		const char *p = (const char *)(uintptr_t)(s->bias + s->phdr[i].p_vaddr);
		const char *end = p + s->phdr[i].p_filesz;

		if (s->phdr[i].p_type != PT_NOTE)
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const char *name = p + sizeof(*nh);
			const char *desc = name + ((nh->n_namesz + 3) & ~3u);

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4)) {
				memcpy(id, desc, nh->n_descsz);
				return nh->n_descsz;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static int open_self(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void test_load_base_and_offsets(void **state)
{
	struct self s = self_mapped();
	long page = sysconf(_SC_PAGESIZE);
	__u64 lowest = UINT64_MAX, base, off, code_va, data_va, bss_va;
	int fd = open_self(), words[4];
	unsigned char code[32];
	struct ls_elf *e;
	ElfW(Ehdr) eh;

	assert_int_equal(ls_elf_open(&e, fd), 0);
	assert_int_equal(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(ls_elf_is_exec(e), eh.e_type == ET_EXEC);
	for (size_t i = 0; i < s.phnum; i++)
		if (s.phdr[i].p_type == PT_LOAD && s.phdr[i].p_vaddr < lowest)
			lowest = s.phdr[i].p_vaddr;
	assert_int_equal(ls_elf_load_base(e, &base), 0);
	assert_int_equal(base, lowest & ~(__u64)(page - 1));

	/* code: its bytes in the file are the ones mapped */
	code_va = (uintptr_t)elf_test_marker - s.bias;
	assert_int_equal(ls_elf_file_offset(e, code_va, &off), 0);
	assert_int_equal(off, expected_offset(&s, code_va));
	assert_int_equal(pread(fd, code, sizeof(code), off), sizeof(code));
	assert_memory_equal(code, (const void *)elf_test_marker, sizeof(code));

	/* initialised data: read by address; its file offset is not its address here */
	data_va = (uintptr_t)data_words - s.bias;
	assert_int_equal(ls_elf_file_offset(e, data_va, &off), 0);
	assert_int_equal(off, expected_offset(&s, data_va));
	assert_int_equal(ls_elf_read(e, data_va, words, sizeof(words)), 0);
	assert_memory_equal(words, data_words, sizeof(words));

	/* .bss is not in the file; nor is an address past everything, nor a read that wraps */
	bss_va = (uintptr_t)bss_words - s.bias;
	assert_int_equal(ls_elf_file_offset(e, bss_va, &off), -ENOENT);
	assert_int_equal(ls_elf_read(e, bss_va, words, sizeof(words)), -ENOENT);
	assert_int_equal(ls_elf_file_offset(e, UINT64_MAX - 8, &off), -ENOENT);
	assert_int_equal(ls_elf_read(e, data_va, words, SIZE_MAX), -ENOENT);
	ls_elf_close(e);
	close(fd);
}

static void test_build_id_sections_dynamic(void **state)
{
	__u8 id[64], want[64];
	struct self s = self_mapped();
	size_t want_len = expected_build_id(&s, want), pos = 0;
	int fd = open_self(), libc = 0;
	struct ls_elf *e;
	__u64 addr, size;
	const char *str;
	__s64 tag;

	assert_int_equal(ls_elf_open(&e, fd), 0);
	assert_int_equal(ls_elf_build_id(e, id, sizeof(id)), want_len);
	assert_memory_equal(id, want, want_len);
	/* an ID longer than the room for it is none */
	if (want_len)
		assert_int_equal(ls_elf_build_id(e, id, want_len - 1), 0);

	assert_int_equal(ls_elf_section(e, ".text", &addr, &size), 0);
	assert_true((uintptr_t)elf_test_marker - s.bias - addr < size);
	assert_int_equal(ls_elf_section(e, ".no-such-section", &addr, &size), -ENOENT);

	while ((str = ls_elf_dynamic_next(e, &pos, &tag)))
		libc += tag == DT_NEEDED && !strcmp(str, "libc.so.6");
	assert_int_equal(libc, 1);
	ls_elf_close(e);
	close(fd);
}

static void test_symbols(void **state)
{
	struct self s = self_mapped();
	__u64 va = (uintptr_t)elf_test_marker - s.bias, data_va = (uintptr_t)data_words - s.bias;
	const struct ls_elf_sym *sym;
	struct ls_elf_syms *t, *plain;
	int fd = open_self(), seen = 0;
	struct ls_elf *e;
	size_t pos = 0;

	assert_int_equal(ls_elf_open(&e, fd), 0);
	assert_int_equal(ls_elf_syms_read(e, LS_ELF_BEST, LS_ELF_BY_ADDR, &t), 0);
	sym = ls_elf_sym_named(t, "elf_test_marker");
	assert_non_null(sym);
	assert_int_equal(sym->value, va);
	assert_int_equal(sym->type, STT_FUNC);
	assert_int_equal(sym->bind, STB_GLOBAL);
	assert_ptr_equal(ls_elf_sym_at(t, va + 3), sym);
	assert_string_equal(ls_elf_sym_at(t, data_va + 8)->name, "data_words");
	/* a static's name is in .symtab */
	assert_string_equal(ls_elf_sym_at(t, (uintptr_t)bss_words - s.bias)->name, "bss_words");
	assert_null(ls_elf_sym_named(t, "no_such_symbol"));
	assert_null(ls_elf_sym_at(t, 0));
	while ((sym = ls_elf_sym_next(t, &pos)))
		seen += !strcmp(sym->name, "elf_test_marker");
	assert_int_equal(seen, 1);

	/* not indexed by address: named, but not looked up by address */
	assert_int_equal(ls_elf_syms_read(e, LS_ELF_SYMTAB, 0, &plain), 0);
	assert_non_null(ls_elf_sym_named(plain, "elf_test_marker"));
	assert_null(ls_elf_sym_at(plain, va));
	ls_elf_syms_free(plain);
	ls_elf_syms_free(t);
	ls_elf_close(e);
	close(fd);
}

/* Hostile copies */

/* This executable's bytes */
static unsigned char *self_bytes(size_t *len)
{
	int fd = open_self();
	struct stat st;
	unsigned char *buf;

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, st.st_size, 0), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

/* An in-memory file holding len bytes of buf */
static int memfile(const void *buf, size_t len)
{
	int fd = memfd_create("elf-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), len);
	return fd;
}

/* Every query: none may crash or run away; the answers are not checked. */
static void exercise(struct ls_elf *e)
{
	struct ls_elf_syms *t;
	const struct ls_elf_sym *sym;
	__u64 base = 0, addr, size, off;
	size_t pos = 0, n = 0;
	__u8 id[64], buf[64];
	__s64 tag;

	ls_elf_is_exec(e);
	ls_elf_load_base(e, &base);
	ls_elf_build_id(e, id, sizeof(id));
	ls_elf_section(e, ".text", &addr, &size);
	ls_elf_section(e, ".PyRuntime", &addr, &size);
	while (ls_elf_dynamic_next(e, &pos, &tag))
		n++;
	for (__u64 va = base; va < base + (1 << 20); va += 4093) {
		ls_elf_file_offset(e, va, &off);
		ls_elf_read(e, va, buf, sizeof(buf));
	}
	for (int which = LS_ELF_SYMTAB; which <= LS_ELF_BEST; which++) {
		if (ls_elf_syms_read(e, which, LS_ELF_BY_ADDR, &t))
			continue;
		ls_elf_sym_named(t, "elf_test_marker");
		for (pos = 0; (sym = ls_elf_sym_next(t, &pos));)
			n += strlen(sym->name);
		for (__u64 va = base; va < base + (1 << 20); va += 251)
			if ((sym = ls_elf_sym_at(t, va)))
				n += strlen(sym->name);
		ls_elf_syms_free(t);
	}
}

/* Open what fd holds: a clean failure, or a reader that answers every query. */
static int open_and_exercise(int fd)
{
	struct ls_elf *e = (void *)1;
	int err = ls_elf_open(&e, fd);

	if (err) {
		assert_true(err < 0);
		assert_null(e);
		return err;
	}
	exercise(e);
	ls_elf_close(e);
	return 0;
}

static void test_truncated(void **state)
{
	size_t len, cuts[] = { 0, 4, 16, 63, 64, 200, 4096, 0, 0, 0 };
	unsigned char *bytes = self_bytes(&len);

	cuts[7] = len / 2;
	cuts[8] = len - 64;
	cuts[9] = len - 1;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		int fd = memfile(bytes, cuts[i]), err = open_and_exercise(fd);

		/* too short for an ELF header: refused */
		if (cuts[i] < 64)
			assert_int_equal(err, -ENOEXEC);
		close(fd);
	}
	free(bytes);
}

/* Cut short while open: read through the descriptor, the rest fails, where a mapping would fault */
static void test_truncated_while_open(void **state)
{
	struct self s = self_mapped();
	__u64 va = (uintptr_t)elf_test_marker - s.bias;
	size_t len;
	unsigned char *bytes = self_bytes(&len), code[16];
	int fd = memfile(bytes, len);
	struct ls_elf_syms *t = NULL;
	struct ls_elf *e;

	assert_int_equal(ls_elf_open(&e, fd), 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_not_equal(ls_elf_read(e, va, code, sizeof(code)), 0);
	if (!ls_elf_syms_read(e, LS_ELF_BEST, LS_ELF_BY_ADDR, &t))
		assert_null(ls_elf_sym_named(t, "elf_test_marker"));
	ls_elf_syms_free(t);
	exercise(e);
	ls_elf_close(e);
	close(fd);
	free(bytes);
}

/* The section header of the first section of type in buf, or NULL */
static Elf64_Shdr *shdr_of_type(unsigned char *buf, __u32 type)
{
	Elf64_Ehdr *eh = (void *)buf;
	Elf64_Shdr *sh = (void *)(buf + eh->e_shoff);

	for (int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == type)
			return &sh[i];
	return NULL;
}

static Elf64_Phdr *phdr_of_type(unsigned char *buf, __u32 type)
{
	Elf64_Ehdr *eh = (void *)buf;
	Elf64_Phdr *ph = (void *)(buf + eh->e_phoff);

	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == type)
			return &ph[i];
	return NULL;
}

/* Each corruption on a fresh copy: the field and the value written to it */
static void corrupt_one(const unsigned char *orig, size_t len, int which)
{
	unsigned char *buf = malloc(len);
	Elf64_Ehdr *eh = (void *)buf;
	Elf64_Shdr *symtab, *dynamic;
	Elf64_Phdr *note, *load;
	int fd;

	memcpy(buf, orig, len);
	symtab = shdr_of_type(buf, SHT_SYMTAB);
	dynamic = shdr_of_type(buf, SHT_DYNAMIC);
	note = phdr_of_type(buf, PT_NOTE);
	load = phdr_of_type(buf, PT_LOAD);
	assert_non_null(symtab);
	assert_non_null(dynamic);
	assert_non_null(note);
	assert_non_null(load);
	switch (which) {
	case 0:
		eh->e_phoff = UINT64_MAX - 8;
		break;
	case 1:
		eh->e_phnum = 0xffff;
		break;
	case 2:
		eh->e_shoff = UINT64_MAX - 8;
		break;
	case 3:
		eh->e_shnum = 0xffff;
		break;
	case 4:
		eh->e_shstrndx = 0xfffe;
		break;
	case 5:
		eh->e_phentsize = 1;
		break;
	case 6:
		symtab->sh_size = UINT64_MAX / 2;
		break;
	case 7:
		symtab->sh_entsize = 1;
		break;
	case 8:
		symtab->sh_link = 0xffff;
		break;
	case 9:
		symtab->sh_offset = len - 8;
		break;
	case 10:
		symtab->sh_type = SHT_NOBITS;
		break;
	case 11:
		dynamic->sh_link = 0;
		break;
	case 12:
		dynamic->sh_size = len * 2;
		break;
	case 13:
		note->p_filesz = UINT64_MAX / 2;
		break;
	case 14:
		note->p_offset = len - 4;
		break;
	case 15:
		load->p_filesz = UINT64_MAX - load->p_vaddr + 1;
		break;
	case 16:
		load->p_offset = UINT64_MAX - 100;
		break;
	case 17:
		eh->e_ident[EI_CLASS] = ELFCLASS32;
		break;
	}
	fd = memfile(buf, len);
	open_and_exercise(fd);
	close(fd);
	free(buf);
}

static void test_corrupt_headers(void **state)
{
	size_t len;
	unsigned char *bytes = self_bytes(&len);

	for (int which = 0; which <= 17; which++)
		corrupt_one(bytes, len, which);
	free(bytes);
}

/* Random bytes in the headers and tables a reader trusts, from a fixed seed: runs repeat. */
static void test_random_corruption(void **state)
{
	size_t len;
	unsigned char *orig = self_bytes(&len), *buf = malloc(len);
	const Elf64_Ehdr *eh = (const void *)orig;
	const Elf64_Shdr *sh = (const void *)(orig + eh->e_shoff);
	size_t shdrs = (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
	unsigned int seed = 15;

	assert_non_null(buf);
	for (int round = 0; round < 400; round++) {
		memcpy(buf, orig, len);
		for (int i = 0; i < 8; i++) {
			unsigned int r = rand_r(&seed);
			size_t at;

			/* the ELF and program headers, the section headers, or a symbol table */
			switch (r % 3) {
			case 0:
				at = (r / 3) % (eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr));
				break;
			case 1:
				at = eh->e_shoff + (r / 3) % shdrs;
				break;
			default:
				at = sh[eh->e_shnum - 1].sh_offset; /* near the end: .strtab */
				at = at < len ? at : 0;
				at = (at + (r / 3) % (len - at)) % len;
				break;
			}
			buf[at] = rand_r(&seed);
		}
		int fd = memfile(buf, len);

		open_and_exercise(fd);
		close(fd);
	}
	free(buf);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_base_and_offsets),
		cmocka_unit_test(test_build_id_sections_dynamic),
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_truncated_while_open),
		cmocka_unit_test(test_corrupt_headers),
		cmocka_unit_test(test_random_corruption),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
