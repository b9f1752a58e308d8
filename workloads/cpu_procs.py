#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""cpu_procs: the work of cpu_threads (--work-ms of pure-Python computation per worker) in N
processes (multiprocessing, fork): each has its own GIL, so they run side by side, one per CPU.
With --truth FILE it writes wall time, and CPU time and getrusage switches of this process and
its children together, and the process count."""

import argparse
import multiprocessing
import sys

import workload


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=workload.count, default=4)
    ap.add_argument("--work-ms", type=workload.amount, default=300)
    ap.add_argument("--truth", metavar="FILE")
    args = ap.parse_args()

    n = int(args.work_ms * workload.calibrate())
    # fork, as the default was up to 3.13: children are copies of this traced process, and
    # start without re-importing anything, so that they only compute
    ctx = multiprocessing.get_context("fork")
    truth = workload.Truth(children=True)
    procs = [ctx.Process(target=workload.spin, args=(n,)) for _ in range(args.procs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    if any(p.exitcode != 0 for p in procs):
        sys.exit("cpu_procs: a worker failed")
    if args.truth:
        truth.write(args.truth, [("procs", args.procs)])


if __name__ == "__main__":
    main()
