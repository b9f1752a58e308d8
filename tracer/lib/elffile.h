/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading an ELF file that a traced process names, through libelf: where it loads, where an
 * address lies in the file, its build ID, its symbols by name and by address, its dynamic
 * section's strings. The file may be hostile: it is read from a descriptor the caller opened and
 * checked (never by path), with ELF_C_READ (a file truncated under us is a failed read, not a
 * SIGBUS), every size checked against the file and every count bounded.
 */
#ifndef LS_ELFFILE_H
#define LS_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define LS_ELF_SYMS_MAX	 (1u << 20) /* symbols read of a table: beyond, the rest are not */
#define LS_ELF_PHDRS_MAX 4096	    /* program headers: a file with more is refused */
#define LS_ELF_NOTE_MAX	 (1u << 16) /* a PT_NOTE larger than this is not read for a build ID */

struct ls_elf;

/*
 * The ELF file open at fd, which stays the caller's and must stay open until ls_elf_close().
 * 0, -ENOEXEC (not ELF, or headers that do not fit the file), -ENOMEM or -errno.
 */
int ls_elf_open(struct ls_elf **out, int fd);
void ls_elf_close(struct ls_elf *e);

/* ET_EXEC: loaded at its link addresses, whatever the mapping */
bool ls_elf_is_exec(const struct ls_elf *e);
/* The lowest PT_LOAD address, page aligned: 0, or -ENOEXEC when it has no PT_LOAD. */
int ls_elf_load_base(const struct ls_elf *e, __u64 *base);
/* The file offset of vaddr (what a uprobe wants): 0, or -ENOENT when no PT_LOAD's file holds it. */
int ls_elf_file_offset(const struct ls_elf *e, __u64 vaddr, __u64 *off);
/* len bytes at vaddr, from the file: 0, -ENOENT (not in the file), -EIO (the file is short). */
int ls_elf_read(const struct ls_elf *e, __u64 vaddr, void *buf, size_t len);
/* The GNU build ID into id; its length, 0 if it has none (or one longer than max). */
size_t ls_elf_build_id(struct ls_elf *e, __u8 *id, size_t max);
/* The first section called name: 0 and its address and size, or -ENOENT. */
int ls_elf_section(struct ls_elf *e, const char *name, __u64 *addr, __u64 *size);
/*
 * The next string of the dynamic section (DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH), in file
 * order, *tag its DT_*; *pos 0 to start. NULL after the last.
 */
const char *ls_elf_dynamic_next(struct ls_elf *e, size_t *pos, __s64 *tag);

/* Symbols */

struct ls_elf_sym {
	__u64 value;
	__u64 size;
	const char *name;   /* lives as long as its table */
	unsigned char type; /* STT_* */
	unsigned char bind; /* STB_* */
};

enum ls_elf_table {
	LS_ELF_SYMTAB, /* .symtab: local and static symbols too; stripped files have none */
	LS_ELF_DYNSYM, /* .dynsym: what the file exports and imports */
	LS_ELF_BEST,   /* .symtab where there is one, else .dynsym */
};

/* A symbol table's defined symbols (LS_ELF_SYMS_MAX at most), read into memory. */
struct ls_elf_syms;

#define LS_ELF_BY_ADDR (1u << 0) /* index them for ls_elf_sym_at() too (a sort: not free) */

/*
 * The table, to be freed by ls_elf_syms_free(); flags LS_ELF_*. 0, -ENOENT (no such table),
 * -EINVAL (one that does not fit the file), -ENOMEM.
 */
int ls_elf_syms_read(struct ls_elf *e, enum ls_elf_table which, unsigned int flags,
		     struct ls_elf_syms **out);
void ls_elf_syms_free(struct ls_elf_syms *t);
/* The symbol called name, the first in the table's order, or NULL. */
const struct ls_elf_sym *ls_elf_sym_named(const struct ls_elf_syms *t, const char *name);
/* Every symbol in the table's order: *pos 0 to start, NULL after the last. */
const struct ls_elf_sym *ls_elf_sym_next(const struct ls_elf_syms *t, size_t *pos);
/*
 * The function or object holding vaddr (within its size; at it exactly for one without a size),
 * among the aliases at the nearest address at or below it; the public alias first ("environ"
 * before "__environ"), then global, weak, local. NULL when none holds it, or when the table was
 * read without LS_ELF_BY_ADDR. Thread-local symbols and sections are not addresses: never
 * returned.
 */
const struct ls_elf_sym *ls_elf_sym_at(const struct ls_elf_syms *t, __u64 vaddr);

#endif /* LS_ELFFILE_H */
