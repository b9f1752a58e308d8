// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding CPython in a process or a file (see pyfind.h). The interpreter is the ELF object that
 * defines _PyRuntime (or has a .PyRuntime section); everything else follows from it and from the
 * per-version layout in GIL.md, checked against the live process where there is one.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "elffile.h"
#include "procmaps.h"
#include "pyfind.h"
#include "safeopen.h"

#define GIL_STRUCT_SIZE	 208 /* interval through switch_mutex (GIL.md) */
#define FT_SHIFT	 8   /* a free-threaded GIL's int enabled, padded, before interval */
#define INTERVAL_DEFAULT 5000
#define MAX_CANDIDATES	 8

/* What the interpreter's ELF file says, before any process. */
struct pyelf {
	int fd;
	struct ls_elf *elf;
	/* read on first use; NULL where the file has none */
	struct ls_elf_syms *dynsym, *symtab;
	bool dynsym_read, symtab_read;
	__u64 rt_vaddr; /* _PyRuntime, or the .PyRuntime section */
	__u64 rt_size;
	__u64 base; /* lowest PT_LOAD p_vaddr rounded down to the page */
};

/* --- ELF, through elffile.h --- */

/* The ELF file open at fd (ours from now on, closed on failure): 0 or -errno. */
static int pyelf_open(struct pyelf *pe, int fd)
{
	int err;

	memset(pe, 0, sizeof(*pe));
	pe->fd = -1;
	if (fd < 0)
		return fd;
	err = ls_elf_open(&pe->elf, fd);
	if (err) {
		close(fd);
		return err;
	}
	pe->fd = fd;
	return 0;
}

/* What was analysed becomes info's: its descriptor, and which file it is. */
static void keep_file(struct pyelf *pe, struct ls_pyinfo *info)
{
	struct stat st;

	if (fstat(pe->fd, &st))
		return;
	info->fd = pe->fd;
	info->dev = st.st_dev;
	info->ino = st.st_ino;
	pe->fd = -1;
}

void ls_pyinfo_release(struct ls_pyinfo *info)
{
	if (info->fd >= 0)
		close(info->fd);
	info->fd = -1;
}

/* No interpreter (yet): all zero, no descriptor */
static void pyinfo_reset(struct ls_pyinfo *info)
{
	ls_pyinfo_release(info);
	memset(info, 0, sizeof(*info));
	info->fd = -1;
}

static void pyelf_close(struct pyelf *pe)
{
	ls_elf_syms_free(pe->dynsym);
	ls_elf_syms_free(pe->symtab);
	/* the ELF reader reads through the descriptor: it goes first */
	ls_elf_close(pe->elf);
	if (pe->fd >= 0)
		close(pe->fd);
	memset(pe, 0, sizeof(*pe));
	pe->fd = -1;
}

/* .dynsym or .symtab, read once; NULL when the file has none (or it cannot be read) */
static const struct ls_elf_syms *table(struct pyelf *pe, enum ls_elf_table which)
{
	bool *done = which == LS_ELF_DYNSYM ? &pe->dynsym_read : &pe->symtab_read;
	struct ls_elf_syms **t = which == LS_ELF_DYNSYM ? &pe->dynsym : &pe->symtab;

	if (!*done)
		ls_elf_syms_read(pe->elf, which, 0, t);
	*done = true;
	return *t;
}

/* A defined symbol called name, exported (.dynsym) or else in .symtab. */
static const struct ls_elf_sym *find_sym(struct pyelf *pe, const char *name)
{
	const struct ls_elf_syms *dyn = table(pe, LS_ELF_DYNSYM), *all;
	const struct ls_elf_sym *s = dyn ? ls_elf_sym_named(dyn, name) : NULL;

	if (s)
		return s;
	all = table(pe, LS_ELF_SYMTAB);
	return all ? ls_elf_sym_named(all, name) : NULL;
}

/* The function name itself, or a compiler clone of it ("take_gil.constprop.0") */
static bool is_copy(const char *sym, const char *name)
{
	size_t len = strlen(name);

	return !strncmp(sym, name, len) && (sym[len] == '\0' || sym[len] == '.');
}

/* The file offset of vaddr: what a uprobe wants. 0 when no PT_LOAD holds it. */
static __u64 file_offset(const struct pyelf *pe, __u64 vaddr)
{
	__u64 off;

	return ls_elf_file_offset(pe->elf, vaddr, &off) ? 0 : off;
}

/* The file offset of function name in .symtab, else of its first clone; 0 when neither. */
static __u64 find_func(struct pyelf *pe, const char *name)
{
	const struct ls_elf_syms *t = table(pe, LS_ELF_SYMTAB);
	const struct ls_elf_sym *s, *found = NULL;
	size_t pos = 0;

	while (t && (s = ls_elf_sym_next(t, &pos))) {
		if (!is_copy(s->name, name))
			continue;
		if (s->name[strlen(name)] == '\0') {
			found = s;
			break;
		}
		if (!found)
			found = s;
	}
	return found && found->type == STT_FUNC ? file_offset(pe, found->value) : 0;
}

/* File offsets of the function name and its compiler clones ("name.constprop.0"), up to max. */
static int find_funcs(struct pyelf *pe, const char *name, __u64 *offs, int max)
{
	const struct ls_elf_syms *t = table(pe, LS_ELF_SYMTAB);
	const struct ls_elf_sym *s;
	size_t pos = 0;
	int n = 0;

	while (t && n < max && (s = ls_elf_sym_next(t, &pos)))
		if (s->type == STT_FUNC && is_copy(s->name, name))
			offs[n++] = file_offset(pe, s->value);
	return n;
}

/* _PyRuntime's address and size: the exported symbol, else the .PyRuntime section (3.10+). */
static bool find_runtime(struct pyelf *pe, __u64 *vaddr, __u64 *size)
{
	const struct ls_elf_sym *s = find_sym(pe, "_PyRuntime");
	__u64 addr, sz;

	if (s) {
		*vaddr = s->value;
		*size = s->size;
		if (!*size && !ls_elf_section(pe->elf, ".PyRuntime", &addr, &sz) &&
		    addr == s->value)
			*size = sz;
		return true;
	}
	if (!ls_elf_section(pe->elf, ".PyRuntime", &addr, &sz) && addr) {
		*vaddr = addr;
		*size = sz;
		return true;
	}
	return false;
}

/*
 * "python3.13t", "libpython3.8.so.1.0", "libpython3.6m.so": the version, and with ft, the 't'
 * flag (the debug offsets say better where there are some).
 */
static void version_from_name(const char *path, struct ls_pyinfo *info, bool ft)
{
	const char *p = strrchr(path, '/');
	int major = 0, minor = 0;

	p = strstr(p ? p + 1 : path, "python");
	if (!p)
		return;
	p += 6;
	if (*p < '0' || *p > '9')
		return;
	while (*p >= '0' && *p <= '9')
		major = major * 10 + *p++ - '0';
	if (*p++ != '.' || *p < '0' || *p > '9')
		return;
	while (*p >= '0' && *p <= '9')
		minor = minor * 10 + *p++ - '0';
	for (; *p >= 'a' && *p <= 'z'; p++)
		if (*p == 't' && ft)
			info->free_threaded = true;
	if (!info->major && major == 3) {
		info->major = major;
		info->minor = minor;
	}
}

static void set_hexversion(struct ls_pyinfo *info, __u64 v)
{
	if ((v >> 24) != 3)
		return;
	info->major = 3;
	info->minor = (v >> 16) & 0xff;
	info->micro = (v >> 8) & 0xff;
}

/* --- _Py_DebugOffsets (3.13+), through a reader --- */

/*
 * Where in _Py_DebugOffsets, counted in u64s, the fields we use are. cookie, version,
 * free_threaded and runtime_state {size, finalizing, interpreters_head} come first in every
 * version; interpreter_state follows. 3.13: the _Py_DebugOffsets of CPython v3.13.0 (read off
 * pyenv's 3.13.0 too). 3.14: Include/internal/pycore_debug_offsets.h of the 3.14 branch, which
 * adds interpreter_state.threads_main after threads_head.
 */
enum { DBG_VERSION = 1, DBG_FREE_THREADED, DBG_RT_SIZE, DBG_INTERP_HEAD = 5, DBG_MAX = 20 };

static const struct dbg_layout {
	unsigned char minor;
	/* interpreter_state: size, id, next, ceval_gil (the pointer interp->ceval.gil), and the
	 * interpreter's own _gil: its offset, then those of enabled (inside it), locked, holder */
	unsigned char size, id, next, ceval_gil, gil, gil_enabled, gil_locked, gil_holder;
} dbg_layouts[] = {
	{ 13, 6, 7, 8, 14, 15, 16, 17, 18 },
	{ 14, 6, 7, 8, 15, 16, 17, 18, 19 },
};

/* What we use of _Py_DebugOffsets. */
struct pydbg {
	__u64 version;
	bool free_threaded;
	bool layout; /* the offsets below are known and check out */
	__u64 interp_head, interp_id, interp_next, interp_ceval_gil;
};

/* off + len within size, without overflow: the offsets may come from anywhere */
static bool fits(__u64 off, __u64 len, __u64 size)
{
	return off <= size && len <= size - off;
}

static int parse_debug_offsets(ls_pyread_fn read, void *ctx, __u64 runtime, __u64 size,
			       struct pydbg *dbg)
{
	const struct dbg_layout *l = NULL;
	__u64 d[DBG_MAX], gil, shift;
	size_t len;

	memset(dbg, 0, sizeof(*dbg));
	if (size < 3 * 8 || read(ctx, runtime, d, 3 * 8) || memcmp(d, "xdebugpy", 8) ||
	    (d[DBG_VERSION] >> 24) != 3 || d[DBG_FREE_THREADED] > 1)
		return -ENOENT;
	dbg->version = d[DBG_VERSION];
	dbg->free_threaded = d[DBG_FREE_THREADED];
	for (size_t i = 0; i < sizeof(dbg_layouts) / sizeof(dbg_layouts[0]); i++)
		if (dbg_layouts[i].minor == ((d[DBG_VERSION] >> 16) & 0xff))
			l = &dbg_layouts[i];
	if (!l)
		return 0; /* a version whose layout we do not know: the header only */
	len = (l->gil_holder + 1) * sizeof(d[0]);
	if (size < len || read(ctx, runtime, d, len))
		return 0;
	/* runtime_state.size is sizeof(_PyRuntime): a check that we read the layout right */
	if (d[DBG_RT_SIZE] != size || !fits(d[DBG_INTERP_HEAD], 8, size) ||
	    !fits(d[l->id], 8, d[l->size]) || !fits(d[l->next], 8, d[l->size]) ||
	    !fits(d[l->ceval_gil], 8, d[l->size]))
		return 0;
	/* and that the GIL is the one we know: enabled first where there is one, shifting the rest */
	gil = d[l->gil];
	shift = dbg->free_threaded ? FT_SHIFT : 0;
	if (d[l->gil_enabled] != 0 || d[l->gil_holder] != gil + shift + 8 ||
	    d[l->gil_locked] != gil + shift + 16)
		return 0;
	dbg->layout = true;
	dbg->interp_head = d[DBG_INTERP_HEAD];
	dbg->interp_id = d[l->id];
	dbg->interp_next = d[l->next];
	dbg->interp_ceval_gil = d[l->ceval_gil];
	return 0;
}

/* interpreters.head, down the list to id 0, then interp->ceval.gil: the struct, 0 if none yet. */
static __u64 main_gil(ls_pyread_fn read, void *ctx, __u64 runtime, const struct pydbg *dbg)
{
	__u64 interp, id, gil;

	if (!dbg->layout || read(ctx, runtime + dbg->interp_head, &interp, sizeof(interp)))
		return 0;
	for (int i = 0; i < 256 && interp; i++) {
		if (read(ctx, interp + dbg->interp_id, &id, sizeof(id)))
			return 0;
		if (id == 0)
			return read(ctx, interp + dbg->interp_ceval_gil, &gil, sizeof(gil)) ? 0
											    : gil;
		if (read(ctx, interp + dbg->interp_next, &interp, sizeof(interp)))
			return 0;
	}
	return 0;
}

/* A free-threaded GIL's enabled, just before gil_addr: -1 when it cannot be read or is < 0. */
static int read_enabled(ls_pyread_fn read, void *ctx, __u64 gil_addr)
{
	__s32 enabled;

	if (!gil_addr || read(ctx, gil_addr - FT_SHIFT, &enabled, sizeof(enabled)) || enabled < 0)
		return -1;
	return enabled;
}

/* sys._is_gil_enabled() negated; not knowing, a free-threaded build's default: off. */
static bool gil_off(bool free_threaded, int enabled)
{
	return free_threaded && enabled <= 0;
}

int ls_pyfind_runtime(ls_pyread_fn read, void *ctx, __u64 runtime, __u64 size,
		      struct ls_pyruntime *rt)
{
	struct pydbg dbg;
	__u64 gil;
	int err;

	memset(rt, 0, sizeof(*rt));
	err = parse_debug_offsets(read, ctx, runtime, size, &dbg);
	if (err)
		return err;
	rt->hexversion = dbg.version;
	rt->free_threaded = dbg.free_threaded;
	gil = main_gil(read, ctx, runtime, &dbg);
	if (gil)
		rt->gil_addr = gil + (dbg.free_threaded ? FT_SHIFT : 0);
	rt->gil_enabled = dbg.free_threaded ? read_enabled(read, ctx, rt->gil_addr) : 1;
	rt->gil_disabled = gil_off(rt->free_threaded, rt->gil_enabled);
	return 0;
}

static int elf_read(void *ctx, __u64 vaddr, void *buf, size_t len)
{
	return ls_elf_read(ctx, vaddr, buf, len);
}

/* Everything static: -ENOENT when the file does not define _PyRuntime. */
static int analyze(struct pyelf *pe, const char *name, struct ls_pyinfo *info)
{
	const struct ls_elf_sym *s;
	struct ls_pyruntime rt;
	bool dbg;
	__u32 v;
	int err;

	if (!find_runtime(pe, &pe->rt_vaddr, &pe->rt_size))
		return -ENOENT;
	err = ls_elf_load_base(pe->elf, &pe->base);
	if (err)
		return err;

	info->major = info->minor = info->micro = 0;
	info->free_threaded = false;
	info->runtime_size = pe->rt_size;
	s = find_sym(pe, "Py_Version");
	if (s && !ls_elf_read(pe->elf, s->value, &v, sizeof(v)))
		set_hexversion(info, v);
	dbg = !ls_pyfind_runtime(elf_read, pe->elf, pe->rt_vaddr, pe->rt_size, &rt);
	if (dbg && !info->major)
		set_hexversion(info, rt.hexversion);
	info->free_threaded = dbg && rt.free_threaded;
	version_from_name(name, info, !dbg);
	/* what the file alone says: enabled is only in the running process */
	info->gil_enabled = info->free_threaded ? -1 : 1;
	info->gil_disabled = gil_off(info->free_threaded, info->gil_enabled);

	info->nr_take_gil = find_funcs(pe, "take_gil", info->take_gil_offs, LS_PY_CLONES);
	info->nr_drop_gil = find_funcs(pe, "drop_gil", info->drop_gil_offs, LS_PY_CLONES);
	info->take_gil_off = find_func(pe, "take_gil");
	info->drop_gil_off = find_func(pe, "drop_gil");
	info->has_symbols = info->take_gil_off && info->drop_gil_off;
	return 0;
}

/* --- the live process --- */

int ls_pyfind_read(pid_t pid, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	char path[64];
	ssize_t n;
	int fd;

	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || errno == EFAULT)
		return -EFAULT;
	if (errno == ESRCH)
		return -ESRCH;
	/* EPERM (e.g. a seccomp filter) or ENOSYS: try /proc/PID/mem */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = pread(fd, buf, len, addr);
	if (n < 0)
		n = errno == EIO ? -EFAULT : -errno;
	else
		n = n == (ssize_t)len ? 0 : -EFAULT;
	close(fd);
	return n;
}

static int read_u64(pid_t pid, __u64 addr, __u64 *v)
{
	return ls_pyfind_read(pid, addr, v, sizeof(*v));
}

static int proc_read(void *ctx, __u64 addr, void *buf, size_t len)
{
	return ls_pyfind_read(*(const pid_t *)ctx, addr, buf, len);
}

/* GIL.md's "A GIL confirmed in memory", within [lo, hi) when hi is not 0. */
static int check_at(pid_t pid, __u64 addr, __u64 lo, __u64 hi, __u64 *interval_us)
{
	unsigned char buf[24];
	__u64 interval;
	__s32 locked;
	int err;

	if (!addr)
		return -EINVAL;
	if (hi && (addr < lo || addr + GIL_STRUCT_SIZE > hi))
		return -EINVAL;
	err = ls_pyfind_read(pid, addr, buf, sizeof(buf));
	if (err)
		return err;
	memcpy(&interval, buf, sizeof(interval));
	memcpy(&locked, buf + 16, sizeof(locked));
	if (interval_us)
		*interval_us = interval;
	/*
	 * Only the default interval: any other plausible one (1 us to 60 s) is also the value of a
	 * heap pointer in a non-PIE process, and the GIL's last_holder is one.
	 */
	return (locked == 0 || locked == 1) && interval == INTERVAL_DEFAULT ? 0 : -EINVAL;
}

/*
 * Last resort for a layout we do not know: the one place in _PyRuntime that looks like an
 * initialised GIL with the default interval. 0 unless exactly one.
 */
static __u64 gil_by_scan(pid_t pid, const struct ls_pyinfo *info, __u64 size)
{
	size_t chunk = 64 * 1024;
	unsigned char *buf;
	__u64 found = 0;
	int hits = 0;

	if (!size || size > (64 << 20))
		return 0;
	buf = malloc(chunk + 64);
	if (!buf)
		return 0;
	for (__u64 off = 0; off + 24 <= size && hits < 2; off += chunk) {
		size_t len = size - off < chunk + 64 ? size - off : chunk + 64;

		if (ls_pyfind_read(pid, info->runtime_addr + off, buf, len))
			break;
		for (size_t i = 0; i < chunk && i + 24 <= len; i += 8) {
			__u64 interval;
			__s32 locked;

			memcpy(&interval, buf + i, 8);
			memcpy(&locked, buf + i + 16, 4);
			if (interval == INTERVAL_DEFAULT && (locked == 0 || locked == 1)) {
				found = info->runtime_addr + off + i;
				hits++;
			}
		}
	}
	free(buf);
	return hits == 1 ? found : 0;
}

/* The main interpreter's GIL: the version's candidates, the first confirmed in memory wins. */
static void find_gil(pid_t pid, const struct pyelf *pe, struct ls_pyinfo *info)
{
	__u64 rt = info->runtime_addr, hi = rt + pe->rt_size, cand[MAX_CANDIDATES], p;
	struct ls_pyruntime dbg;
	int n = 0;

	switch (info->major * 100 + info->minor) {
	case 307: /* not in GIL.md: measured on pyenv 3.7.16 */
		cand[n++] = rt + 0x4f0;
		break;
	case 308:
		cand[n++] = rt + 0x480;
		break;
	case 309:
	case 310:
		cand[n++] = rt + 0x160;
		break;
	case 311:
		cand[n++] = rt + 0x168;
		break;
	case 312:
		/* interp->ceval.gil of the main interpreter, then the struct it points to (3.12.1) */
		if (!read_u64(pid, rt + 0x12be8, &p) && p)
			cand[n++] = p;
		cand[n++] = rt + 0x12e78;
		break;
	default: /* 3.13+: _Py_DebugOffsets */
		if (!ls_pyfind_runtime(proc_read, &pid, rt, pe->rt_size, &dbg) && dbg.gil_addr)
			cand[n++] = dbg.gil_addr;
		if (info->major * 100 + info->minor == 313 && !info->free_threaded)
			cand[n++] = rt + 0x17768;
		break;
	}
	for (int i = 0; i < n; i++) {
		if (!check_at(pid, cand[i], rt, hi, NULL)) {
			info->gil_addr = cand[i];
			return;
		}
	}
	info->gil_addr = gil_by_scan(pid, info, pe->rt_size);
	/* not initialised yet, perhaps: the layout's prediction, unconfirmed */
	for (int i = 0; i < n && !info->gil_addr; i++)
		if (cand[i] >= rt && cand[i] + GIL_STRUCT_SIZE <= hi)
			info->gil_addr = cand[i];
}

/*
 * The file-backed lines of /proc/PID/maps, in order; *lines point into *text, the caller frees
 * both. None for a process that is gone or a zombie: ls_pyfind tells which.
 */
static int read_file_maps(pid_t pid, char **text, struct ls_maps_line **lines, size_t *nr)
{
	size_t n = 0;
	int err;

	err = ls_procmaps_read(pid, text, lines, nr);
	if (err == -ESRCH)
		return 0;
	if (err)
		return err;
	for (size_t i = 0; i < *nr; i++)
		if ((*lines)[i].path[0] == '/')
			(*lines)[n++] = (*lines)[i];
	*nr = n;
	return 0;
}

/* The mapped file itself (it may live in a container, a chroot, or be deleted), its inode checked. */
static int open_mapped(pid_t pid, const struct ls_maps_line *m, struct pyelf *pe, char *open_path)
{
	snprintf(open_path, LS_PY_PATH_MAX, "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	return pyelf_open(pe, ls_open_mapped(pid, m->start, m->end, m->path, m->inode));
}

static bool is_libpython(const char *path)
{
	const char *base = strrchr(path, '/');

	return !strncmp(base ? base + 1 : path, "libpython3", 10);
}

/* Is m the first mapping of its file, and one we should look at (exe, or libpython3*)? */
static bool candidate(const struct ls_maps_line *maps, size_t i, const char *exe)
{
	for (size_t j = 0; j < i; j++)
		if (!strcmp(maps[j].path, maps[i].path))
			return false;
	return (exe && !strcmp(maps[i].path, exe)) || is_libpython(maps[i].path);
}

static int try_mapped(pid_t pid, const struct ls_maps_line *maps, size_t nr, size_t i,
		      struct ls_pyinfo *info)
{
	__u64 lowest = UINT64_MAX;
	struct pyelf pe;
	int err;

	err = open_mapped(pid, &maps[i], &pe, info->open_path);
	if (err)
		return err;
	err = analyze(&pe, maps[i].path, info);
	if (err)
		goto out;
	for (size_t j = 0; j < nr; j++)
		if (!maps[j].pgoff && !strcmp(maps[j].path, maps[i].path) && maps[j].start < lowest)
			lowest = maps[j].start;
	if (ls_elf_is_exec(pe.elf)) {
		info->load_bias = 0;
	} else if (lowest != UINT64_MAX) {
		info->load_bias = lowest - pe.base;
	} else {
		err = -ENOENT; /* no mapping of its first page: the bias is unknown */
		goto out;
	}
	snprintf(info->path, sizeof(info->path), "%s", maps[i].path);
	info->runtime_addr = pe.rt_vaddr + info->load_bias;
	find_gil(pid, &pe, info);
	/* sys._is_gil_enabled() as the process stands now: a free-threaded GIL's enabled can change */
	info->gil_enabled = info->free_threaded ? read_enabled(proc_read, &pid, info->gil_addr) : 1;
	info->gil_disabled = gil_off(info->free_threaded, info->gil_enabled);
	keep_file(&pe, info);
out:
	pyelf_close(&pe);
	return err;
}

int ls_pyfind(pid_t pid, struct ls_pyinfo *info)
{
	char link[64], exe[PATH_MAX] = "", *text = NULL;
	struct ls_maps_line *maps = NULL;
	int err, first_err = 0;
	size_t nr = 0;
	ssize_t n;

	memset(info, 0, sizeof(*info));
	info->fd = -1;
	if (pid <= 0)
		return -ESRCH;
	err = read_file_maps(pid, &text, &maps, &nr);
	if (err)
		return err;
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	else if (nr) /* not allowed to read the link: the first file mapped is the executable */
		snprintf(exe, sizeof(exe), "%s", maps[0].path);

	/* the executable first, then the libpython3*.so* in the order they are mapped */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nr; i++) {
			bool is_exe = !strcmp(maps[i].path, exe);

			if ((pass == 0) != is_exe || !candidate(maps, i, exe))
				continue;
			err = try_mapped(pid, maps, nr, i, info);
			if (!err)
				goto out;
			if (err != -ENOENT && err != -ENOEXEC && !first_err)
				first_err = err;
			pyinfo_reset(info);
		}
	}
	if (!first_err && kill(pid, 0) && errno == ESRCH)
		err = -ESRCH;
	else
		err = first_err ? first_err : -ENOENT;
out:
	free(maps);
	free(text);
	return err;
}

/* --- a file alone --- */

/* Append the ':'-separated dirs of list to dirs (with $ORIGIN expanded). */
static size_t add_dirs(char dirs[][PATH_MAX], size_t nr, size_t max, const char *list,
		       const char *origin)
{
	while (list && *list && nr < max) {
		size_t len = strcspn(list, ":");
		char tmp[PATH_MAX];

		if (len && len < sizeof(tmp)) {
			memcpy(tmp, list, len);
			tmp[len] = '\0';
			if (!strncmp(tmp, "$ORIGIN", 7))
				snprintf(dirs[nr++], PATH_MAX, "%s%s", origin, tmp + 7);
			else if (!strncmp(tmp, "${ORIGIN}", 9))
				snprintf(dirs[nr++], PATH_MAX, "%s%s", origin, tmp + 9);
			else
				snprintf(dirs[nr++], PATH_MAX, "%s", tmp);
		}
		list += len;
		if (*list == ':')
			list++;
	}
	return nr;
}

/* The libpython3*.so* that exe (a real path) needs, where the dynamic loader would find it. */
static int find_libpython(struct ls_elf *e, const char *exe, char *out)
{
	static const char *const defaults[] = {
		"/lib/x86_64-linux-gnu",
		"/usr/lib/x86_64-linux-gnu",
		"/usr/local/lib",
		"/lib64",
		"/usr/lib64",
		"/lib",
		"/usr/lib",
	};
	const char *needed = NULL, *rpath = NULL, *runpath = NULL;
	char origin[PATH_MAX], (*dirs)[PATH_MAX];
	size_t nr = 0, max = 64, pos = 0;
	int err = -ENOENT;
	const char *s;
	__s64 tag;

	while ((s = ls_elf_dynamic_next(e, &pos, &tag))) {
		if (tag == DT_NEEDED && is_libpython(s) && !needed)
			needed = s;
		else if (tag == DT_RPATH)
			rpath = s;
		else if (tag == DT_RUNPATH)
			runpath = s;
	}
	if (!needed || strchr(needed, '/'))
		return -ENOENT;
	snprintf(origin, sizeof(origin), "%s", exe);
	*strrchr(origin, '/') = '\0';
	dirs = calloc(max, PATH_MAX);
	if (!dirs)
		return -ENOMEM;
	/* ld.so's order: DT_RPATH (when there is no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH */
	if (!runpath)
		nr = add_dirs(dirs, nr, max, rpath, origin);
	nr = add_dirs(dirs, nr, max, getenv("LD_LIBRARY_PATH"), origin);
	nr = add_dirs(dirs, nr, max, runpath, origin);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && nr < max; i++)
		snprintf(dirs[nr++], PATH_MAX, "%s", defaults[i]);
	for (size_t i = 0; i < nr && err; i++) {
		char path[2 * PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dirs[i], needed);
		if (!stat(path, &st) && S_ISREG(st.st_mode) && realpath(path, out))
			err = 0;
	}
	free(dirs);
	return err;
}

static int try_file(const char *path, struct ls_pyinfo *info, char *libpython)
{
	struct pyelf pe;
	int err;

	err = pyelf_open(&pe, ls_open_regular_at(AT_FDCWD, path, false, 0));
	if (err)
		return err;
	err = analyze(&pe, path, info);
	if (!err) {
		snprintf(info->path, sizeof(info->path), "%s", path);
		snprintf(info->open_path, sizeof(info->open_path), "%s", path);
		keep_file(&pe, info);
	} else if (err == -ENOENT && libpython) {
		err = find_libpython(pe.elf, path, libpython) ? -ENOENT : -EAGAIN;
	}
	pyelf_close(&pe);
	return err;
}

int ls_pyfind_file(const char *path, struct ls_pyinfo *info)
{
	char real[PATH_MAX], lib[PATH_MAX];
	int err;

	memset(info, 0, sizeof(*info));
	info->fd = -1;
	if (!realpath(path, real))
		return -errno;
	err = try_file(real, info, lib);
	if (err == -EAGAIN) /* an executable linked with libpython */
		err = try_file(lib, info, NULL);
	if (err == -ENOEXEC)
		err = -ENOENT; /* not even ELF (a script, a shim): not CPython */
	if (err)
		pyinfo_reset(info);
	return err;
}

int ls_pyfind_check_gil(pid_t pid, const struct ls_pyinfo *info, __u64 *interval_us)
{
	__u64 lo = 0, hi = 0, vaddr, size;
	struct pyelf pe;

	if (interval_us)
		*interval_us = 0;
	if (!info->gil_addr)
		return -EINVAL;
	/* the GIL lies inside _PyRuntime: known from the file found, never its path looked up again */
	if (info->fd >= 0 && !pyelf_open(&pe, fcntl(info->fd, F_DUPFD_CLOEXEC, 0))) {
		if (find_runtime(&pe, &vaddr, &size) && size) {
			lo = vaddr + info->load_bias;
			hi = lo + size;
		}
		pyelf_close(&pe);
	}
	return check_at(pid, info->gil_addr, lo, hi, interval_us);
}
