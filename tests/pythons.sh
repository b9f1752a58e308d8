#!/usr/bin/env bash
# make pythons: prepare the CPython interpreters tests/test_python.c runs, and list them in
# OUTDIR/pythons.txt, one line each: the command that runs it (words split on spaces, no quoting),
# a TAB, a label. They are:
#   pyenv's CPython 3.8-3.13, with symbols (probed);
#   a stripped copy of each, executable and libpython, under OUTDIR/pythons/stripped (inferred);
#   Debian sid's newest interpreters, in a minbase chroot at OUTDIR/pythons/sid;
#   Debian's own /usr/bin/python3.11.
# It needs root and the machine's Debian mirror; whatever it cannot make is skipped, saying so on
# stderr, and the list holds what there is. Finished work is kept (a stamp, written last, marks
# it done), so that a second run takes seconds.
# Usage: tests/pythons.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || {
	echo "usage: $0 OUTDIR" >&2
	exit 64
}
mkdir -p "$1"
out=$(cd "$1" && pwd)
case $out in
*[[:space:]]*)
	echo "pythons: $out has white space; the list's commands are split on spaces" >&2
	exit 1
	;;
esac
dir=$out/pythons
list=$out/pythons.txt
mkdir -p "$dir"
tmp=$(mktemp "$list.XXXXXX")
trap 'rm -f "$tmp"' EXIT

say() { echo "pythons: $*" >&2; }
add() { printf '%s\t%s\n' "$1" "$2" >>"$tmp"; }
root() { [ "$(id -u)" = 0 ]; }

# Install the Debian package that provides command $1 ($2), as root; false, saying why, if not.
need_cmd() {
	command -v "$1" >/dev/null && return 0
	if ! root; then
		say "$1 is missing (apt-get install $2, as root)"
		return 1
	fi
	say "installing $2"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq "$2" >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; } ||
		{
			say "cannot install $2"
			return 1
		}
}

# The file that holds the interpreter (and _PyRuntime): its libpython if it links one, else itself.
runtime_file() {
	local lib
	lib=$(ldd "$1" 2>/dev/null | awk '/libpython3[^ ]*\.so/ { print $3; exit }')
	echo "${lib:-$1}"
}

has_symtab() { readelf -S -W "$1" 2>/dev/null | grep -q ' \.symtab '; }

pyenv_root() {
	local d
	for d in "$(pyenv root 2>/dev/null || true)" "${HOME:-}/.pyenv" /root/.pyenv; do
		if [ -n "$d" ] && [ -d "$d/versions" ]; then
			echo "$d"
			return
		fi
	done
}

# A stripped copy of pyenv's $1 (version) at $2 (its bin/pythonX.Y): the executable and its
# libpython through strip --strip-all, the executable's RUNPATH pointed at the copy's lib/, and
# lib/pythonX.Y a link to the original's standard library.
make_stripped() {
	local ver=$1 exe=$2 minor=${1%.*} dst=$dir/stripped/$1 lib name
	rm -rf "$dst"
	mkdir -p "$dst/bin" "$dst/lib"
	strip --strip-all -o "$dst/bin/python$minor" "$exe"
	lib=$(runtime_file "$exe")
	if [ "$lib" != "$exe" ]; then
		need_cmd patchelf patchelf || return 1
		name=$(basename "$lib")
		strip --strip-all -o "$dst/lib/$name" "$(readlink -f "$lib")"
		# shellcheck disable=SC2016 # the loader's $ORIGIN
		patchelf --set-rpath '$ORIGIN/../lib' "$dst/bin/python$minor"
	fi
	ln -s "$(dirname "$exe")/../lib/python$minor" "$dst/lib/python$minor"
	# it runs, finds its standard library, and loads no file with symbols
	lib=$(runtime_file "$dst/bin/python$minor")
	case $lib in
	"$dst"/*) ;;
	*)
		say "stripped $ver loads $lib, not its own copy"
		return 1
		;;
	esac
	if has_symtab "$dst/bin/python$minor" || has_symtab "$lib"; then
		say "stripped $ver still has a symbol table"
		return 1
	fi
	"$dst/bin/python$minor" -c 'import threading, os' || {
		say "stripped $ver does not run"
		return 1
	}
	touch "$dst/.done"
}

pyenv_pythons() {
	local proot v ver minor exe stamp
	proot=$(pyenv_root)
	if [ -z "$proot" ]; then
		say "no pyenv (pyenv root, \$HOME/.pyenv, /root/.pyenv): its CPythons skipped"
		return
	fi
	for v in $(cd "$proot/versions" && printf '%s\n' 3.* | sort -V); do
		[[ $v =~ ^3\.(8|9|1[0-3])\.[0-9]+$ ]] || continue
		ver=$v minor=${v%.*}
		exe=$proot/versions/$v/bin/python$minor
		if [ ! -x "$exe" ]; then
			say "pyenv $ver has no $exe: skipped"
			continue
		fi
		if ! has_symtab "$(runtime_file "$exe")"; then
			say "pyenv $ver has no symbols ($(runtime_file "$exe")): skipped"
			continue
		fi
		add "$exe" "pyenv $ver"
		stamp=$dir/stripped/$ver/.done
		if [ ! -e "$stamp" ] || [ "$exe" -nt "$stamp" ]; then
			say "making a stripped copy of pyenv $ver"
			make_stripped "$ver" "$exe" || {
				say "stripped pyenv $ver skipped"
				continue
			}
		fi
		add "$dir/stripped/$ver/bin/python$minor" "pyenv $ver stripped"
	done
}

# The machine's Debian mirror, from its apt configuration: the source of its release's own suite.
mirror() {
	local codename
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	# shellcheck disable=SC2016 # apt's $(FIELD)s
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
		awk -v c="$codename" '$2 == c { print $1; exit }'
}

# Debian sid in a minbase chroot, with each of python3.13, 3.14, 3.15 that it has.
sid_pythons() {
	local sid=$dir/sid stamp=$dir/sid.done log=$dir/sid.log url v want=()
	if [ ! -e "$stamp" ]; then
		if ! root; then
			say "not root: Debian sid's chroot skipped (sudo make pythons)"
			return
		fi
		need_cmd debootstrap debootstrap || return 0
		url=$(mirror)
		if [ -z "$url" ]; then
			say "no Debian mirror in the apt configuration: Debian sid's chroot skipped"
			return
		fi
		# an unfinished one (no stamp) is made again; never remove one with mounts in it
		if awk -v d="$sid" 'index($2, d) == 1 { m = 1 } END { exit !m }' /proc/self/mounts
		then
			say "$sid has file systems mounted in it: unmount them; Debian sid skipped"
			return
		fi
		rm -rf "$sid"
		say "debootstrap sid into $sid (a few minutes; log: $log)"
		if ! debootstrap --variant=minbase sid "$sid" "$url" >"$log" 2>&1; then
			say "debootstrap failed (last lines of $log below): Debian sid skipped"
			tail -n 5 "$log" >&2
			return
		fi
		# the mirror's sid Release may be past its Valid-Until date
		if ! chroot "$sid" apt-get -o Acquire::Check-Valid-Until=false update >>"$log" 2>&1
		then
			say "apt-get update in the chroot failed (see $log): Debian sid skipped"
			return
		fi
		for v in 3.13 3.14 3.15; do
			if chroot "$sid" apt-cache show "python$v" >/dev/null 2>&1; then
				want+=("python$v")
			else
				say "Debian sid has no python$v: skipped"
			fi
		done
		if [ ${#want[@]} -gt 0 ] && ! DEBIAN_FRONTEND=noninteractive chroot "$sid" apt-get \
			-o Acquire::Check-Valid-Until=false install -y --no-install-recommends \
			"${want[@]}" >>"$log" 2>&1; then
			say "installing ${want[*]} in the chroot failed (see $log): sid skipped"
			return
		fi
		chroot "$sid" apt-get clean
		touch "$stamp"
	fi
	for v in 3.13 3.14 3.15; do
		[ -x "$sid/usr/bin/python$v" ] &&
			add "chroot $sid /usr/bin/python$v" "Debian sid $v"
	done
	return 0
}

if ! root; then
	say "not root: only what needs no root (or is ready) is listed"
fi
pyenv_pythons
sid_pythons
if [ -x /usr/bin/python3.11 ]; then
	add /usr/bin/python3.11 "Debian 3.11"
else
	say "no /usr/bin/python3.11 (apt-get install python3.11): skipped"
fi
chmod 644 "$tmp"
mv "$tmp" "$list"
trap - EXIT
echo "pythons: $(wc -l <"$list") interpreters in $list" >&2
