#!/usr/bin/env python3
"""make soak: a long recording at a steady, known event rate.

`lockscope record` traces `spawn --wakes N --rate R` (R futex wakes a second, one record each,
paced every millisecond) for --seconds. Every --interval seconds the recorder's VmRSS and the
trace file's size are sampled. At the end it prints RSS first/last/max, the file's growth in
bytes/s, how well the bytes per record of the file's first minute (or first fifth of a shorter
run) predicted the final size from the records it holds, and the records lost. Exit status 1
when the RSS grew by more than --max-rss-growth-mb after the warm-up, when a record was lost,
when the size strayed more than --max-size-error percent from the prediction, or when the
recording failed; 0 otherwise.

The prediction is per record, not per second: on a busy machine the generator's rate varies
(it catches up after falling behind), and the file then grows unevenly in time although the
recorder writes every record alike. What the recorder is answerable for is the size of a record.
"""
import re
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def vm_rss_kb(pid):
    """The VmRSS of a live process in kB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def file_size(path):
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def sample(pid, trace, start, every):
    """(elapsed s, RSS kB, file bytes) every `every` seconds while the recorder runs."""
    samples = []
    n = 1
    while True:
        time.sleep(max(0.0, start + n * every - time.monotonic()))
        n += 1
        rss = vm_rss_kb(pid)
        if rss is None:
            return samples
        samples.append((time.monotonic() - start, rss, file_size(trace)))
        print(f"  {samples[-1][0]:7.1f} s  RSS {rss / 1024:7.1f} MB  file "
              f"{samples[-1][2] / 1e6:9.1f} MB", flush=True)


def rss_summary(samples, warmup, limit_mb):
    """Print RSS first, after the warm-up, last and max of samples ((seconds, RSS kB, ...));
    the failures: growth after the warm-up over limit_mb."""
    rss = [s[1] for s in samples]
    base = [s[1] for s in samples if s[0] >= warmup] or rss[-1:]
    growth = (max(base) - base[0]) / 1024
    print(f"RSS: first {rss[0] / 1024:.1f} MB, after warm-up {base[0] / 1024:.1f} MB, last "
          f"{rss[-1] / 1024:.1f} MB, max {max(rss) / 1024:.1f} MB; growth after warm-up "
          f"{growth:.2f} MB (limit {limit_mb:g})")
    return [f"RSS grew by {growth:.2f} MB after the warm-up"] if growth > limit_mb else []


def records_in_prefix(lockscope, trace, size):
    """(records, bytes) of the whole records in the first `size` bytes of the trace, as the
    reader counts them (a file cut there is read up to its last whole record)."""
    head = subprocess.Popen(["head", "-c", str(size), trace], stdout=subprocess.PIPE)
    rep = subprocess.run([lockscope, "report", "--format", "json", "/dev/stdin"],
                         stdin=head.stdout, capture_output=True, text=True)
    head.stdout.close()
    head.wait()
    try:
        records = json.loads(rep.stdout)["recording"]["records"]
    except (ValueError, KeyError):
        return None, None
    m = re.search(r"offset (\d+)", rep.stderr)
    return records, int(m.group(1)) if m else size


def size_prediction(lockscope, trace, samples, seconds, records):
    """The final size predicted from the bytes per record of the file's first minute (a fifth
    of a shorter run), for the records the whole file holds; (span, predicted), None if none."""
    span = min(60.0, seconds / 5)
    t0 = samples[0][0]
    t1, _, s1 = [s for s in samples if s[0] - t0 <= span][-1]
    early, nbytes = records_in_prefix(lockscope, trace, s1)
    if not early:
        return span, None
    return span, nbytes / early * records


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--rate", type=int, default=1000000, help="futex wakes a second")
    ap.add_argument("--interval", type=float, help="seconds between samples (default: "
                    "5, or a tenth of a run shorter than 50 s)")
    ap.add_argument("--warmup", type=float, help="seconds before the RSS baseline (default: "
                    "a tenth of the run, between 5 and 60)")
    ap.add_argument("--max-rss-growth-mb", type=float, default=4)
    ap.add_argument("--max-size-error", type=float, default=5, help="percent")
    ap.add_argument("--dir", help="where the trace goes (default: a temporary directory, "
                    "removed at the end)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root to load BPF programs (sudo make soak)")
    every = args.interval or min(5.0, max(0.5, args.seconds / 10))
    warmup = args.warmup if args.warmup is not None else min(60.0, max(5.0, args.seconds / 10))
    workdir = args.dir or tempfile.mkdtemp(prefix="lockscope-soak.")
    os.makedirs(workdir, exist_ok=True)
    if os.environ.get("SUDO_UID"):  # lockscope writes with the invoking user's rights
        os.chown(workdir, int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", "-1")))
    trace = os.path.join(workdir, "soak.data")
    lockscope = os.path.join(args.build, "lockscope")
    wakes = int(args.rate * args.seconds)
    argv = [lockscope, "record", "-o", trace, "--", os.path.join(args.build, "workloads", "spawn"),
            "--wakes", str(wakes), "--rate", str(args.rate)]
    print(f"soak: {args.seconds:.0f} s, {args.rate} futex wakes/s ({wakes} in all), default "
          f"buffer; samples every {every:g} s, warm-up {warmup:g} s", flush=True)
    print("  " + " ".join(argv), flush=True)
    start = time.monotonic()
    rec = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    samples = sample(rec.pid, trace, start, every)
    _, stderr = rec.communicate()
    wall = time.monotonic() - start
    for line in stderr.splitlines():
        print("  " + line)
    failures = []
    if rec.returncode != 0:
        failures.append(f"lockscope record exited with status {rec.returncode}")
    rep = subprocess.run([lockscope, "report", "--format", "json", trace], capture_output=True,
                         text=True)
    try:
        recording = json.loads(rep.stdout)["recording"]
    except (ValueError, KeyError):
        recording = None
        failures.append(f"lockscope report failed ({rep.returncode}): {rep.stderr.strip()}")
    if len(samples) < 3:
        failures.append(f"only {len(samples)} samples: the recording ended after {wall:.1f} s")
    else:
        failures += rss_summary(samples, warmup, args.max_rss_growth_mb)
        (t0, _, s0), (t2, _, s2) = samples[0], samples[-1]
        print(f"file: {s2 / 1e6:.1f} MB at {t2:.0f} s, growing {(s2 - s0) / (t2 - t0) / 1e6:.2f} "
              f"MB/s ({(s2 - s0) / (t2 - t0):.0f} bytes/s)")
        if recording:
            final = file_size(trace)
            span, predicted = size_prediction(lockscope, trace, samples, args.seconds,
                                              recording["records"])
            if not predicted:
                failures.append(f"the records of the file's first {span:g} s could not be read")
            else:
                err = 100 * (final - predicted) / predicted
                print(f"linearity: {recording['records']} records at the first {span:g} s' "
                      f"{predicted / recording['records']:.2f} bytes each: predicted "
                      f"{predicted / 1e6:.1f} MB, measured {final / 1e6:.1f} MB ({err:+.2f}%)")
                if abs(err) > args.max_size_error:
                    failures.append(f"the file's size strayed {err:+.2f}% from the prediction "
                                    f"by the bytes per record of its first {span:g} s")
    if recording:
        secs = (recording["end_ns"] - recording["start_ns"]) / 1e9
        size = file_size(trace)
        print(f"records: {recording['records']} in {secs:.1f} s ({recording['records'] / secs:.0f}"
              f"/s, {size / recording['records']:.1f} bytes each), {wakes} wakes asked; lost "
              f"{recording['lost_records']}; complete: {recording['complete']}")
        if recording["lost_records"]:
            failures.append(f"{recording['lost_records']} records lost")
        if not recording["complete"] or recording["records"] < wakes:
            failures.append("the trace is incomplete or holds fewer records than wakes")
    if not args.dir:
        if os.path.exists(trace):
            os.unlink(trace)
        os.rmdir(workdir)
    for f in failures:
        print("soak: FAIL: " + f)
    print("soak: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
