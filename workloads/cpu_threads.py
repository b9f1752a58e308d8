#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""cpu_threads: N threads each doing --work-ms of pure-Python computation. The GIL lets one run
at a time: the wall time is about the sum of the work, whatever the number of CPUs. With
--truth FILE it writes wall and CPU time, getrusage switches and the thread count."""

import argparse
import threading

import workload


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=workload.count, default=4)
    ap.add_argument("--work-ms", type=workload.amount, default=300)
    ap.add_argument("--truth", metavar="FILE")
    args = ap.parse_args()

    n = int(args.work_ms * workload.calibrate())
    truth = workload.Truth()
    threads = [threading.Thread(target=workload.spin, args=(n,)) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if args.truth:
        truth.write(args.truth, [("threads", args.threads)])


if __name__ == "__main__":
    main()
