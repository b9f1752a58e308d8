# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What the Python workloads share: pure-Python work in calibrated amounts, option types, and
the ground truth (--truth FILE) as flat JSON with integer values, as workloads/truth.h writes it.
Standard library only; Python 3.6 and later (no time.*_ns, which came in 3.7)."""

import argparse
import resource
import time


def spin(n):
    """n steps of an LCG: pure bytecode, holding the GIL throughout, never releasing it."""
    x = 1
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def calibrate():
    """Iterations of spin() per millisecond of CPU, measured once, before any thread starts, so
    that --work-ms is a fixed amount of work however it is later scheduled."""
    n = 1000
    spin(n)  # warm up
    while True:
        t0 = time.process_time()
        spin(n)
        dt = time.process_time() - t0
        if dt >= 0.02:  # 20 ms: clock granularity and interrupts are noise
            return n / (dt * 1000.0)
        n *= 2


def count(text):
    """argparse type: an integer >= 1."""
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1: %r" % text)
    return v


def amount(text):
    """argparse type: a number >= 0 (milliseconds)."""
    v = float(text)
    if not v >= 0:
        raise argparse.ArgumentTypeError("must be a number >= 0: %r" % text)
    return v


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _switches(children):
    """Voluntary and involuntary context switches: this process, plus its reaped children."""
    who = [resource.RUSAGE_SELF] + ([resource.RUSAGE_CHILDREN] if children else [])
    rus = [resource.getrusage(w) for w in who]
    return sum(r.ru_nvcsw for r in rus), sum(r.ru_nivcsw for r in rus)


class Truth:
    """Wall, CPU and getrusage switches from construction to write(); with children, those of
    the children reaped meanwhile too (their usage reaches RUSAGE_CHILDREN once waited for)."""

    def __init__(self, children=False):
        self.children = children
        self.switches0 = _switches(children)
        self.children_cpu0 = _children_cpu()
        self.cpu0 = time.process_time()  # finer than ru_utime, for this process
        self.wall0 = time.monotonic()

    def write(self, path, extra):
        """Writes the figures, then the (key, integer) pairs of extra, as one flat object."""
        wall = time.monotonic() - self.wall0
        cpu = time.process_time() - self.cpu0
        if self.children:
            cpu += _children_cpu() - self.children_cpu0
        vol, invol = _switches(self.children)
        pairs = [("wall_ns", int(round(wall * 1e9))), ("cpu_ns", int(round(cpu * 1e9))),
                 ("vol_switches", vol - self.switches0[0]),
                 ("invol_switches", invol - self.switches0[1])]
        pairs += list(extra)
        with open(path, "w") as f:
            f.write("{\n" + ",\n".join('  "%s": %d' % kv for kv in pairs) + "\n}\n")
