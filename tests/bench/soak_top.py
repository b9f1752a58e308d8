#!/usr/bin/env python3
"""make soak-top: lockscope top on a workload whose threads and locks come and go, for --seconds.

A Python 3.11 process starts 4 threads at a time, each with a lock of its own beside a shared one
(about 60 threads and 60 locks a second, each gone within a second), so that top's maps and
tables see new entries and evictions all along. Every --interval seconds top's VmRSS is sampled.
At the end it prints RSS first/last/max, the JSON lines read, the threads seen exiting, the most
locks in one interval and the entries full maps refused. Exit status 1 when the RSS grew by more
than --max-rss-growth-mb after the warm-up, when a map was full, or when top failed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from soak import rss_summary, vm_rss_kb

PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"
CHURN = r"""
import sys, threading, time
end = time.monotonic() + float(sys.argv[1])
shared = threading.Lock()
def work(n):
    mine = threading.Lock()
    for i in range(n):
        with shared:
            sum(range(200))
        with mine:
            pass
        time.sleep(0.0005)
while time.monotonic() < end:
    ts = [threading.Thread(target=work, args=(100,)) for _ in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=1200)
    ap.add_argument("--interval", type=float, default=10, help="seconds between RSS samples")
    ap.add_argument("--warmup", type=float, default=60)
    ap.add_argument("--max-rss-growth-mb", type=float, default=2)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak-top: needs root to load BPF programs (sudo make soak-top)")
    if not os.access(PY311, os.X_OK):
        sys.exit("soak-top: needs " + PY311)
    work = tempfile.mkdtemp(prefix="lockscope-soak-top.")
    script, out = os.path.join(work, "churn.py"), os.path.join(work, "top.jsonl")
    with open(script, "w") as f:
        f.write(CHURN)
    argv = [os.path.join(args.build, "lockscope"), "top", "-i", "1", "-f", "json", "--", PY311,
            script, str(args.seconds)]
    print(f"soak-top: {args.seconds:.0f} s; top's RSS every {args.interval:g} s", flush=True)
    start = time.monotonic()
    with open(out, "w") as f:
        top = subprocess.Popen(argv, stdout=f, stderr=subprocess.PIPE, text=True)
        samples = []
        while top.poll() is None:
            time.sleep(args.interval)
            rss = vm_rss_kb(top.pid)
            if rss is not None:
                samples.append((time.monotonic() - start, rss))
                print(f"  {samples[-1][0]:7.1f} s  RSS {rss / 1024:6.1f} MB", flush=True)
        _, err = top.communicate()
    failures = []
    if top.returncode != 0:
        failures.append(f"lockscope top exited with status {top.returncode}: {err.strip()}")
    lines = exited = most_locks = 0
    full = {}
    with open(out) as f:
        for line in f:
            d = json.loads(line)
            lines += 1
            exited += sum(1 for t in d["threads"] if t["exited"])
            most_locks = max(most_locks, len(d["locks"]))
            full = d["full"]
    print(f"{lines} JSON lines; {exited} threads seen exiting; at most {most_locks} locks in an "
          f"interval; entries refused by full maps: {full}")
    if any(full.values()):
        failures.append(f"a map was full: {full}")
    if len(samples) < 3:
        failures.append(f"only {len(samples)} samples")
    else:
        failures += rss_summary(samples, args.warmup, args.max_rss_growth_mb)
    os.unlink(script)
    os.unlink(out)
    os.rmdir(work)
    for f in failures:
        print("soak-top: FAIL: " + f)
    print("soak-top: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
