#!/usr/bin/env python3
"""make bench: what lockscope costs, measured against the floor and the tools people use today.

Every comparison runs its variants interleaved (A B C A B C ...), REPEAT times each, and reports
medians and ratios. Workload times are the workloads' own (their --truth wall time), so a tool's
start-up and tear-down are left out of them; start-up is measured on its own.
"""
import argparse
import json
import os
import platform
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

REPEAT = 5
PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
BPFTRACE_SCRIPT = r"""
tracepoint:syscalls:sys_enter_futex /pid == cpid/ { @start[tid] = nsecs; }
tracepoint:syscalls:sys_exit_futex /@start[tid]/ {
	@wait[tid] = sum(nsecs - @start[tid]); delete(@start[tid]);
}
"""
PY_REPEAT = 7
# 4 threads spinning in a Python function for 2 s; argv[1] gets the loop turns they made
SPIN_TURNS = r"""
import sys, threading, time
turns = [0] * 4
def inner(i, end):
    n = 0
    while time.monotonic() < end:
        n += 1
    turns[i] = n
end = time.monotonic() + 2
t = [threading.Thread(target=inner, args=(i, end)) for i in range(4)]
[x.start() for x in t]; [x.join() for x in t]
open(sys.argv[1], "w").write(str(sum(turns)))
"""
SLEEP0 = r"""
import json, sys, threading, time
def f():
    for _ in range(50000):
        time.sleep(0)
t = [threading.Thread(target=f) for _ in range(2)]
s = time.monotonic_ns()
[x.start() for x in t]; [x.join() for x in t]
json.dump({"wall_ns": time.monotonic_ns() - s}, open(sys.argv[1], "w"))
"""


def give_to_sudo_user(path):
    """Under sudo, lockscope writes its traces with the invoking user's rights: let them."""
    if os.environ.get("SUDO_UID"):
        os.chown(path, int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", "-1")))


class Bench:
    def __init__(self, build, out):
        self.build = build
        self.lockscope = os.path.join(build, "lockscope")
        self.tmp = tempfile.mkdtemp(prefix="lockscope-bench.")
        give_to_sudo_user(self.tmp)
        self.lines = []
        self.out = out

    def say(self, line=""):
        print(line, flush=True)
        self.lines.append(line)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def workload(self, name):
        return os.path.join(self.build, "workloads", name)

    def wall(self, prefix, argv):
        """Run prefix + argv, where argv ends with --truth FILE; the workload's own wall time."""
        truth = self.path("truth.json")
        if os.path.exists(truth):
            os.unlink(truth)
        subprocess.run(prefix + argv + [truth], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(truth) as f:
            return json.load(f)["wall_ns"]

    def interleaved(self, variants, argv):
        times = {name: [] for name, _ in variants}
        for _ in range(REPEAT):
            for name, prefix in variants:
                times[name].append(self.wall(prefix, argv))
        return {name: statistics.median(v) for name, v in times.items()}

    def record(self, *extra):
        return [self.lockscope, "record", "-o", self.path("bench.data"), *extra, "--"]

    def top(self, *extra):
        """lockscope top, a JSON line every 10 s: its cost is in the kernel, between readings"""
        return [self.lockscope, "top", "-f", "json", "-i", "10", *extra, "--"]

    def records_of(self, trace):
        out = subprocess.run([self.lockscope, "report", "--format", "json", trace],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)["recording"]["records"]

    def overhead_per_event(self):
        self.say("1. Added time per event: futex ping-pong, 2 threads x 20000 rounds on one CPU "
                 f"(median of {REPEAT}, interleaved)")
        # on one CPU: across CPUs the wake-up of an idle vCPU dominates, and any extra work
        # that keeps a CPU busy makes the ping-pong faster, not slower
        argv = ["/usr/bin/taskset", "-c", "0", self.workload("pingpong"), "--threads", "2", "--rounds",
                "20000", "--spin-ms", "0", "--truth"]
        variants = [("untraced", []),
                    ("floor (count only)", [os.path.join(self.build, "bench", "floor"), "--"]),
                    ("lockscope record", self.record()),
                    ("lockscope record --stacks", self.record("--stacks")),
                    ("lockscope top", self.top())]
        if shutil_which("bpftrace"):
            script = self.path("futex.bt")
            with open(script, "w") as f:
                f.write(BPFTRACE_SCRIPT)
            variants.append(("bpftrace futex wait/thread", ["sh", "-c",
                             'exec bpftrace -q -c "$*" ' + script + " >/dev/null", "bt"]))
        if shutil_which("strace"):
            variants.append(("strace -f -e trace=futex",
                             ["strace", "-f", "-qq", "-e", "trace=futex", "-o", "/dev/null"]))
        if shutil_which("perf"):
            variants.append(("perf trace -e futex", ["perf", "trace", "-e", "futex", "-o",
                                                      "/dev/null", "--"]))
        med = self.interleaved(variants, argv)
        self.wall(self.record(), argv)
        events = self.records_of(self.path("bench.data"))
        base = med["untraced"]
        floor = (med["floor (count only)"] - base) / events
        bt = (med.get("bpftrace futex wait/thread", base) - base) / events
        self.say(f"   {events} events (lockscope records) per run")
        self.say(f"   {'variant':30} {'workload wall':>14} {'added/event':>12} {'x floor':>8}")
        for name, _ in variants:
            added = (med[name] - base) / events
            self.say(f"   {name:30} {med[name] / 1e6:11.1f} ms {added:9.0f} ns "
                     f"{added / floor if floor > 0 else 0:8.2f}")
        ls = (med["lockscope record"] - base) / events
        self.say(f"   lockscope / floor = {ls / floor if floor > 0 else 0:.2f} (target <= 1.5); "
                 f"lockscope / bpftrace = {ls / bt if bt > 0 else 0:.2f} (target <= 0.5)")
        top = (med["lockscope top"] - base) / events
        self.say(f"   lockscope top / floor = {top / floor if floor > 0 else 0:.2f} (target <= 1.5); "
                 f"top / record = {top / ls if ls > 0 else 0:.2f} (target < 1)")
        self.say("   (strace and perf trace see the futex syscalls only, not the switches;")
        self.say("   --stacks copies 8K of user stack at each wait's first switch out)")
        self.hook_costs(ls / floor if floor > 0 else 0)

    def hook_costs(self, measured):
        """Why lockscope costs what it does over the floor: the price of each piece of work."""
        out = subprocess.run([os.path.join(self.build, "bench", "hookcost")], check=True,
                             capture_output=True, text=True).stdout
        cost = dict((k, float(v)) for k, v in (line.split("\t") for line in out.splitlines()))
        hook = cost.pop("hook (count only)")
        self.say()
        self.say("   What a hook's work costs: getppid() with one program on sys_enter "
                 f"(untraced {cost.pop('untraced'):.0f} ns a call; median of 7)")
        self.say(f"   {'the hook itself, counting (the floor)':40} {hook:6.1f} ns")
        for name, ns in cost.items():
            self.say(f"   {'+ ' + name:40} {ns - hook:6.1f} ns")
        clock = 5 * (cost["bpf_ktime_get_ns"] - hook) / (6 * hook)
        rest = 4 * (cost["ring buffer reserve+submit"] + cost["task storage get"] - 2 * hook) / (
            6 * hook)
        self.say("   Half a ping-pong round fires 6 hooks (what the floor pays); lockscope's 4 "
                 "records add 5 clock")
        self.say(f"   reads ({clock:.2f}x the floor), 4 ring reservations and 4 task-storage "
                 f"lookups ({rest:.2f}x): {1 + clock + rest:.2f}x predicted, {measured:.2f}x "
                 "measured.")
        self.say("   A clock read costs about what the hook does: no tracer that times each event "
                 "gets near 1.5x.")
        self.say("   Every switch of the machine, traced or not, pays "
                 f"{cost['untraced time (per-CPU sums)'] - hook:.1f} ns more to sum the CPU time of "
                 "untraced tasks (other load).")
        saved = cost["ring buffer reserve+submit"] - cost["per-CPU batch append"]
        self.say(f"   Per-CPU batches instead of a reservation per record would save {saved:.1f} ns "
                 f"a record ({4 * saved / (6 * hook):.2f}x the floor).")

    def slowdown(self):
        self.say()
        self.say(f"2. Whole-workload slowdown, traced / untraced wall (median of {REPEAT})")
        cases = [("gil (C), 4 threads", [self.workload("gil"), "--truth"], [[]]),
                 ("mutex (C), 4 threads", [self.workload("mutex"), "--truth"], [[]])]
        if os.access(PY311, os.X_OK):
            here = os.path.dirname(os.path.abspath(__file__))
            cpu = os.path.join(here, "..", "..", "workloads", "cpu_threads.py")
            sleep0 = self.path("sleep0.py")
            with open(sleep0, "w") as f:
                f.write(SLEEP0)
            wl = os.path.join(here, "..", "..", "workloads")
            # the default (inferred, sampled, Python stacks read), without the stacks, and the
            # exact probes; the demo's Python workloads, with and without the stacks
            modes = [[], ["--python-stacks=off"], ["--gil=probes"]]
            cases.append(("Python 3.11 CPU-bound threads", [PY311, cpu, "--truth"], modes))
            cases.append(("Python 3.11 100k sleep(0) calls", [PY311, sleep0], modes))
            cases.append(("Python 3.11 demo cpu_procs.py", [PY311, os.path.join(
                wl, "cpu_procs.py"), "--truth"], modes[:2]))
            cases.append(("Python 3.11 demo io_threads.py", [PY311, os.path.join(
                wl, "io_threads.py"), "--truth"], modes[:2]))
        for name, argv, gil_modes in cases:
            variants = [("untraced", [])]
            for extra in gil_modes:
                variants.append((" ".join(extra) or "default", self.record(*extra)))
            med = self.interleaved(variants, argv)
            base = med["untraced"]
            cells = ", ".join(f"{v}: {med[v] / base:.3f}" for v, _ in variants[1:])
            self.say(f"   {name:34} untraced {base / 1e6:8.1f} ms; {cells}")

    def recording(self):
        """The last recording's records/s over its window, and its lost records."""
        rep = json.loads(subprocess.run([self.lockscope, "report", "--format", "json",
                                         self.path("bench.data")], check=True,
                                        capture_output=True, text=True).stdout)["recording"]
        return rep["records"], (rep["end_ns"] - rep["start_ns"]) / 1e9, rep["lost_records"]

    def loss(self):
        self.say()
        self.say("3. Loss: event rate against lost records, default buffer (16M) unless said")
        spawn = [self.workload("spawn"), "--wakes", "10000000", "--rate", "1000000"]
        pingpong = ["/usr/bin/taskset", "-c", "0", self.workload("pingpong"), "--threads", "2",
                    "--rounds", "4000000", "--spin-ms", "0"]
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(os.cpu_count())]
        try:
            subprocess.run(self.record() + spawn, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            busy = self.recording()
        finally:
            for h in hogs:
                h.kill()
                h.wait()
        cases = [("1M futex wakes/s, 10 s", spawn, ()), ("the same, every CPU busy", None, busy),
                 ("ping-pong on one CPU, full speed", pingpong, ())]
        for label, argv, done in cases:
            if argv:
                subprocess.run(self.record() + argv, check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            n, secs, lost = done or self.recording()
            self.say(f"   {label:34} {n / secs / 1e6:5.2f}M records/s over {secs:4.1f} s, "
                     f"{lost} lost")
        # every wake is kept or counted lost: the few other records (switches) are on top
        wakes = 200000
        subprocess.run(self.record("-b", "4K") + [self.workload("spawn"), "--wakes", str(wakes)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        n, secs, lost = self.recording()
        self.say(f"   4K buffer, {wakes} wakes at full speed: {n} kept + {lost} lost = {n + lost} "
                 f"records ({(n + lost) / secs / 1e6:.2f}M/s offered)")

    def report_usage(self, argv):
        """Wall time, peak RSS (MB) and exit status of one lockscope report. Its own RSS: a child
        forked from Python starts with Python's RSS as its peak (ru_maxrss survives exec), so
        GNU time (a small process) forks it."""
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        secs, kb = out.stderr.split()[-2:]
        return float(secs), int(kb) / 1024, out.returncode

    def reporter(self):
        self.say()
        self.say("4. Reporter: lockscope report on synthetic recordings (one core)")
        gen = os.path.join(self.build, "bench", "gentrace")
        for n in (5_000_000, 50_000_000):
            trace = self.path("big.data")
            subprocess.run([gen, trace, str(n)], check=True)
            size = os.path.getsize(trace)
            secs, rss, _ = self.report_usage([self.lockscope, "report", trace])
            self.say(f"   {n / 1e6:4.0f}M records: {n / secs / 1e6:5.1f}M records/s, peak "
                     f"{rss:5.1f} MB, {size / n:4.1f} bytes/record")
            os.unlink(trace)
        # files crafted to make a reporter slow or fat (tests/bench/hostile.h)
        self.say("   hostile traces of 10 MB (text report; json):")
        for kind in ("reference", "locks", "collide", "gils", "sps", "threads", "stacks"):
            trace = self.path("hostile.data")
            subprocess.run([gen, "--hostile", kind, trace, str(10 << 20)], check=True)
            cells = []
            for fmt in ("text", "json"):
                secs, rss, rc = self.report_usage([self.lockscope, "report", "--format", fmt,
                                                   trace])
                cells.append(f"{secs:5.2f} s {rss:6.1f} MB" + ("" if rc == 0 else f" exit {rc}"))
            self.say(f"   {kind:10} " + "; ".join(cells))
            os.unlink(trace)
        demo = os.path.join(self.build, "demo", "c-gil-threads.data")
        if os.path.exists(demo):
            n = self.records_of(demo)
            self.say(f"   a real recording (demo c-gil-threads): {os.path.getsize(demo) / n:.1f} "
                     "bytes/record (target <= 32)")

    def startup(self):
        self.say()
        self.say("5. Start-up and stop")
        trace = self.path("start.data")
        lat = []
        for _ in range(REPEAT):
            t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            subprocess.run([self.lockscope, "record", "-o", trace, "--", "/bin/true"], check=True,
                           stderr=subprocess.DEVNULL)
            lat.append(exec_ts(trace) - t0)
        self.say(f"   record start to the command's exec: {statistics.median(lat) / 1e6:.0f} ms "
                 "median (target < 300 ms)")
        stops = []
        for _ in range(REPEAT):
            p = subprocess.Popen([self.lockscope, "record", "-o", trace, "--", "/bin/sleep",
                                  "30"], stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            t1 = time.monotonic()
            p.send_signal(signal.SIGINT)
            p.wait()
            stops.append(time.monotonic() - t1)
        self.say(f"   Ctrl-C to exit: {statistics.median(stops) * 1e3:.0f} ms median")

    def top_cpu(self):
        """lockscope top's own CPU time at a known event rate: a ping-pong of 2 threads for
        10 s, its records a second measured by record on the same run length; top's user and
        system time from 2 s in (after loading the programs) to 9 s."""
        self.say()
        self.say("7. lockscope top's own CPU, reading every second (median of 3)")
        argv = [self.workload("pingpong"), "--threads", "2", "--rounds", "0", "--spin-ms", "0"]
        probe = [self.workload("pingpong"), "--threads", "2", "--rounds", "200000", "--spin-ms",
                 "0"]
        subprocess.run(self.record() + probe, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        out = subprocess.run([self.lockscope, "report", "--format", "json",
                              self.path("bench.data")], check=True, capture_output=True,
                             text=True).stdout
        rec = json.loads(out)["recording"]
        rate = rec["records"] / ((rec["end_ns"] - rec["start_ns"]) / 1e9)
        rounds = str(int(200000 * 10 / ((rec["end_ns"] - rec["start_ns"]) / 1e9)))
        argv[4] = rounds
        shares = []
        for _ in range(3):
            p = subprocess.Popen([self.lockscope, "top", "-f", "json", "-i", "1", "--", *argv],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(2)
            a, ta = proc_cpu_ns(p.pid), time.monotonic()
            time.sleep(7)
            b, tb = proc_cpu_ns(p.pid), time.monotonic()
            p.wait()
            shares.append((b - a) / 1e9 / (tb - ta))
        share = statistics.median(shares)
        self.say(f"   {rate / 1e3:.0f}k events/s (record's records a second on this workload): "
                 f"top used {share * 100:.2f}% of a CPU (target < 1% at 100k events/s)")

    def bpf_ns(self, pid):
        """Run time of the BPF programs recorder pid loaded (kernel.bpf_stats_enabled), by name."""
        ids = set()
        try:
            for fd in os.listdir(f"/proc/{pid}/fdinfo"):
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    for line in f:
                        if line.startswith("prog_id:"):
                            ids.add(int(line.split()[1]))
        except OSError:
            return {}
        out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True)
        got = {}
        for p in json.loads(out.stdout or "[]"):
            if p.get("id") in ids:
                got[p.get("name", "?")] = (p.get("run_time_ns", 0), p.get("run_cnt", 0))
        return got

    def python_stacks(self):
        """What Python stacks cost, on 4 GIL-bound threads spinning for 2 s: the work they got
        done (loop turns) untraced, stacks on and off; per stack read, the BPF programs' time
        (bpf_stats) and the recorder's CPU time, on against off."""
        self.say()
        self.say(f"6. Python stacks: 4 GIL-bound threads of Python 3.11 spinning for 2 s "
                 f"(median of {PY_REPEAT}, interleaved)")
        if not os.access(PY311, os.X_OK) or not shutil_which("bpftool"):
            self.say("   skipped: needs " + PY311 + " and bpftool")
            return
        spin = self.path("spin.py")
        with open(spin, "w") as f:
            f.write(SPIN_TURNS)
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=False)
        res = {"untraced": [], "on": [], "off": []}
        try:
            for _ in range(PY_REPEAT):
                for mode in res:
                    res[mode].append(self.one_stacks_run(mode, spin))
        finally:
            subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=False)
        med = {m: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
               for m, runs in res.items()}
        base, on, off = med["untraced"]["turns"], med["on"], med["off"]
        self.say(f"   work done, traced / untraced: stacks on {on['turns'] / base:.3f}, "
                 f"off {off['turns'] / base:.3f} (on / off {on['turns'] / off['turns']:.3f})")
        stacks = on["stacks"]
        bpf = on["bpf_ns"] - off["bpf_ns"]
        user = on["recorder_ns"] - off["recorder_ns"]
        work = on["work_ns"]
        self.say(f"   {stacks:.0f} stacks a run: {on['sampled']:.0f} sampled (100 Hz), the rest "
                 f"GIL waiters and their holders")
        self.say(f"   in BPF:       {bpf / stacks / 1e3:6.2f} us a stack  "
                 f"({bpf / work * 100:.2f}% of the threads' CPU time)")
        self.say(f"   the recorder: {user / stacks / 1e3:6.2f} us a stack to resolve and write "
                 f"({user / work * 100:.2f}%, on the CPU the GIL leaves idle)")

    def one_stacks_run(self, mode, spin):
        """One run of spin.py, untraced or recorded with Python stacks on or off: its loop turns,
        the BPF programs' and the recorder's CPU time, the threads' CPU time, stacks read."""
        turns = self.path("turns")
        if mode == "untraced":
            subprocess.run([PY311, spin, turns], check=True)
            with open(turns) as f:
                return {"turns": int(f.read()), "bpf_ns": 0, "recorder_ns": 0, "work_ns": 1,
                        "stacks": 1, "sampled": 0}
        p = subprocess.Popen(self.record(f"--python-stacks={mode}") + [PY311, spin, turns],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        last, cpu = {}, 0
        while p.poll() is None:
            time.sleep(0.1)
            snap = self.bpf_ns(p.pid)
            if snap:
                last = snap
            cpu = proc_cpu_ns(p.pid) or cpu
        err = p.stderr.read()
        stacks = 0
        for line in err.splitlines():
            if " Python stacks," in line:
                stacks = int(line.split("lockscope: ")[1].split()[0])
        rep = json.loads(subprocess.run([self.lockscope, "report", "--format", "json",
                                         self.path("bench.data")], check=True,
                                        capture_output=True, text=True).stdout)
        kinds = py_stack_kinds(self.path("bench.data"))
        with open(turns) as f:
            n = int(f.read())
        return {"turns": n, "bpf_ns": sum(ns for ns, _ in last.values()), "recorder_ns": cpu,
                "work_ns": rep["summary"]["cpu_ns"], "stacks": max(stacks, 1),
                "sampled": kinds.get(1, 0)}

    def write(self):
        with open(self.out, "w") as f:
            f.write("\n".join(self.lines) + "\n")
        print(f"\nresults written to {self.out}")


def proc_cpu_ns(pid):
    """User and system time of a live process so far, in ns (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0


def shutil_which(name):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if os.access(os.path.join(d, name), os.X_OK):
            return True
    return False


def exec_ts(trace):
    """Monotonic time of the first exec record in a trace (see bpf/lockscope.h)."""
    with open(trace, "rb") as f:
        data = f.read()
    off = struct.unpack_from("<I", data, 12)[0]  # header_size
    while off + 8 <= len(data):
        typ, size, _ = struct.unpack_from("<HHI", data, off)
        if size < 8:
            break
        if typ == 8:  # LS_REC_EXEC
            return struct.unpack_from("<Q", data, off + 8)[0]
        off += size
    raise RuntimeError("no exec record in " + trace)


def py_stack_kinds(trace):
    """LS_REC_PY_STACK records of a trace, by kind (enum ls_py_stack_kind, bpf/lockscope.h)."""
    with open(trace, "rb") as f:
        data = f.read()
    off = struct.unpack_from("<I", data, 12)[0]
    kinds = {}
    while off + 8 <= len(data):
        typ, size, _ = struct.unpack_from("<HHI", data, off)
        if size < 8:
            break
        if typ == 46:  # struct ls_py_stack: kind after ts, uaddr, tgid, waiter_tid
            kind = data[off + 32]
            kinds[kind] = kinds.get(kind, 0) + 1
        off += size
    return kinds


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{time.strftime('%Y-%m-%d %H:%M:%S')}, Linux {platform.release()}, "
            f"{os.cpu_count()} CPUs ({model})")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="build/bench/results.txt")
    ap.add_argument("--only", type=int, choices=range(1, 8), help="run one benchmark")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root to load BPF programs (sudo make bench)")
    if not os.path.isdir("/sys/kernel/tracing/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])
    b = Bench(args.build, args.out)
    b.say("lockscope benchmarks: " + machine())
    b.say()
    steps = [b.overhead_per_event, b.slowdown, b.loss, b.reporter, b.startup, b.python_stacks,
             b.top_cpu]
    for i, step in enumerate(steps, 1):
        if not args.only or args.only == i:
            step()
    b.write()


if __name__ == "__main__":
    main()
