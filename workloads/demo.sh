#!/bin/sh
# make demo: record the bundled workloads under lockscope and put them side by side.
# usage: demo.sh LOCKSCOPE WORKLOAD_BIN_DIR OUTPUT_DIR   (PYTHON=... picks the interpreter)
set -eu
lockscope=$1 bin=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
mkdir -p "$out"
# under sudo, lockscope writes its traces with the invoking user's rights
if [ -n "${SUDO_UID:-}" ]; then
	chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$out"
fi
rm -f "$out"/*.data "$out"/*.data.old

record() {
	name=$1
	shift
	"$lockscope" record -o "$out/$name.data" -- "$@" >/dev/null
}

section() {
	printf '\n==== %s ====\n\n' "$1"
	shift
	"$lockscope" compare "$@"
}

cat <<TXT
lockscope demo: the same CPU-bound work done by 4 threads that share one lock, then by 4
processes that share nothing, on this $(nproc)-CPU machine. Threads that must hold a GIL-style lock to
compute take turns (about 1 CPU busy, many hand-offs); processes run side by side.
TXT

record c-gil-threads "$bin/gil" --threads 4 --work-ms 300
record c-procs "$bin/procs" --procs 4 --work-ms 300
record py-threads "$python" "$here/cpu_threads.py" --threads 4 --work-ms 300
record py-procs "$python" "$here/cpu_procs.py" --procs 4 --work-ms 300
record py-io-threads "$python" "$here/io_threads.py" --threads 4
record c-io-threads "$bin/io" --threads 4
record c-straggler "$bin/straggler" --threads 4 --rounds 4 --work-ms 100

section "C: GIL-style threads vs processes" "$out/c-gil-threads.data" "$out/c-procs.data"
section "Python ($($python -c 'import sys; print(sys.version.split()[0])')): threads vs multiprocessing" \
	"$out/py-threads.data" "$out/py-procs.data"
section "I/O-bound threads (Python, C): they wait for I/O, not for each other" \
	"$out/py-io-threads.data" "$out/c-io-threads.data"
section "Serialized vs imbalanced (C): threads that take turns on a lock, and a straggler" \
	"$out/c-gil-threads.data" "$out/c-straggler.data"

printf '\nFull reports: %s report FILE, with FILE one of\n' "$lockscope"
for f in "$out"/*.data; do
	printf '  %s\n' "$f"
done
