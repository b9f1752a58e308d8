#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""py_functions: Python functions of known, different work, for lockscope's Python stacks.

heavy() is given three times light()'s work, each in a thread of its own: while both run they take
turns on the GIL, then heavy() runs alone. sleeper() mostly sleeps; wait_for_lock() waits on a
threading.Lock that the main thread holds until heavy() and light() are done. Each function's
own thread CPU time (time.thread_time_ns, around its call) is its ground truth: the GIL-bound
functions hold the GIL while they are on a CPU. Python 3.8 and later."""

import argparse
import os
import signal
import threading
import time

import workload


def heavy(n):
    """n steps of an LCG, in this function's own frame (its innermost frame is heavy)."""
    x = 1
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def light(n):
    """The same loop as heavy(), in a frame of its own, given a third of its work."""
    x = 1
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def sleeper(stop):
    """Wakes up every 10 ms, holding the GIL for a few microseconds each time."""
    while not stop.is_set():
        time.sleep(0.01)


def wait_for_lock(lock):
    """Blocks on a threading.Lock (a futex wait, not the GIL) until the main thread lets go."""
    lock.acquire()
    lock.release()


def timed(cpu, fn, *args):
    """Runs fn(*args) and adds the thread CPU time it took to cpu[fn.__name__]."""
    t0 = time.thread_time_ns()
    fn(*args)
    cpu[fn.__name__] = cpu.get(fn.__name__, 0) + time.thread_time_ns() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work-ms", type=workload.amount, default=300,
                    help="light()'s work; heavy() gets three times as much")
    ap.add_argument("--wait-signal", action="store_true",
                    help="print 'ready', then start the threads on SIGUSR1 (to be attached to)")
    ap.add_argument("--truth", metavar="FILE")
    args = ap.parse_args()

    n = int(args.work_ms * workload.calibrate())
    if args.wait_signal:
        go = threading.Event()
        signal.signal(signal.SIGUSR1, lambda *_: go.set())
        print("ready", os.getpid(), flush=True)
        go.wait()
    truth = workload.Truth()
    cpu, stop, lock = {}, threading.Event(), threading.Lock()
    lock.acquire()
    workers = [threading.Thread(target=timed, args=(cpu, heavy, 3 * n)),
               threading.Thread(target=timed, args=(cpu, light, n))]
    others = [threading.Thread(target=timed, args=(cpu, sleeper, stop)),
              threading.Thread(target=timed, args=(cpu, wait_for_lock, lock))]
    for t in workers + others:
        t.start()
    for t in workers:
        t.join()
    lock.release()
    stop.set()
    for t in others:
        t.join()
    if args.truth:
        truth.write(args.truth, [(name + "_cpu_ns", ns) for name, ns in sorted(cpu.items())])


if __name__ == "__main__":
    main()
