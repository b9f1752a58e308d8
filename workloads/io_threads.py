#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""io_threads: N threads that mostly block, as in workloads/io.c. Each iteration either reads
one byte from its pipe, which a writer thread feeds once every two --sleep-ms so that the read
blocks for about --sleep-ms, or sleeps --sleep-ms; then it takes a lock to update a shared
counter. Blocking calls release the GIL, so the threads overlap: the case threads handle well.
With --truth FILE it writes wall and CPU time, getrusage switches and the worker count (the
writer not included)."""

import argparse
import os
import sys
import threading
import time

import workload


class Shared:
    def __init__(self, iterations, sleep_s):
        self.iterations = iterations
        self.sleep_s = sleep_s
        self.lock = threading.Lock()
        self.counter = 0


def worker(sh, fd):
    for i in range(sh.iterations):
        if i % 2 == 0:
            os.read(fd, 1)
        else:
            time.sleep(sh.sleep_s)
        with sh.lock:
            sh.counter += 1


def writer(sh, fds):
    """One byte per worker every two sleep periods, against a fixed start so as not to drift."""
    t0 = time.monotonic()
    for r in range((sh.iterations + 1) // 2):  # the workers read on even iterations
        delay = t0 + (2 * r + 1) * sh.sleep_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for fd in fds:
            os.write(fd, b"x")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=workload.count, default=4)
    ap.add_argument("--iterations", type=workload.count, default=200)
    ap.add_argument("--sleep-ms", type=workload.amount, default=1.0)
    ap.add_argument("--truth", metavar="FILE")
    args = ap.parse_args()

    sh = Shared(args.iterations, args.sleep_ms / 1000.0)
    pipes = [os.pipe() for _ in range(args.threads)]
    truth = workload.Truth()
    threads = [threading.Thread(target=worker, args=(sh, r)) for r, _ in pipes]
    for t in threads:
        t.start()
    writer(sh, [w for _, w in pipes])
    for t in threads:
        t.join()
    for fds in pipes:
        os.close(fds[0])
        os.close(fds[1])
    if sh.counter != args.threads * args.iterations:
        sys.exit("io_threads: lost updates")
    if args.truth:
        truth.write(args.truth, [("threads", args.threads)])


if __name__ == "__main__":
    main()
