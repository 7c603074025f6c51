#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""gilscope's overhead, measured as traced/untraced ratios in one run.

Each workload runs untraced and traced, interleaved, several times; the
workload times itself (its own clock around its work, so attach and
detach are not counted) and the table shows min and median of each and
the ratio of the medians.  Nothing here is asserted: speed is measured,
not tested.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, traced_args, gilscope, timeout=300):
    full = cmd if traced_args is None else [gilscope] + traced_args + ["--"] + cmd
    r = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(full), r.stderr[-500:]))
    out = r.stdout
    start = out.index("{")
    depth = 0
    for i in range(start, len(out)):
        depth += {"{": 1, "}": -1}.get(out[i], 0)
        if depth == 0:
            return json.loads(out[start:i + 1])
    raise RuntimeError("no JSON from " + cmd[0])


def elapsed(truth):
    if "phase" in truth and "wall_ns" in truth["phase"]:
        return truth["phase"]["wall_ns"]
    return truth.get("elapsed_ns") or truth.get("wall_ns")


def bench(name, cmd, modes, gilscope, reps, key=None):
    rows = []
    samples = {m: [] for m in ["untraced"] + [m for m, _ in modes]}
    for _ in range(reps):
        samples["untraced"].append(elapsed(run(cmd, None, gilscope)))
        for m, args in modes:
            samples[m].append(elapsed(run(cmd, args, gilscope)))
    base = statistics.median(samples["untraced"])
    base_min = min(samples["untraced"])
    for m in samples:
        med = statistics.median(samples[m])
        rows.append((name, m, min(samples[m]) / 1e6, med / 1e6, med / base,
                     min(samples[m]) / base_min))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: tracing needs root: sudo make bench")
    b = os.path.abspath(a.build)
    g = os.path.join(b, "gilscope")
    hot = os.path.join(b, "tests", "hotlock")
    rows = []
    rows += bench("hotlock contended (2 threads, 1 mutex, 2M ops each)",
                  [hot, "-t", "2", "-n", "2000000"],
                  [("--locks=contended", []), ("--locks=all", ["--locks=all"])], g, a.reps)
    rows += bench("hotlock uncontended (2 threads, own mutexes, 2M ops each)",
                  [hot, "-t", "2", "-n", "2000000", "-u"],
                  [("--locks=contended", []), ("--locks=all", ["--locks=all"])], g, a.reps)
    wl = os.path.join(HERE, "..", "workloads")
    for py in ("/usr/bin/python3",):
        if not os.path.exists(py):
            continue
        rows += bench("CPython fib, 4 threads (%s)" % py,
                      [py, os.path.join(wl, "fib_threads.py"), "4", "27"],
                      [("GIL traced", [])], g, a.reps, key="phase")
        rows += bench("CPython 200k small reads, GIL dropped per call (%s)" % py,
                      [py, os.path.join(wl, "small_reads.py"), "200000"],
                      [("GIL traced", [])], g, a.reps)
    demo = os.path.join(b, "gildemo")
    if os.path.exists(demo):
        rows += bench("gildemo (2 CPU threads under its GIL)",
                      [demo, "--threads", "2", "--work", "100000000", "--json", "-"],
                      [("GIL traced", [])], g, a.reps)
    print("%-56s %-18s %9s %10s %8s %8s" % ("workload", "mode", "min ms", "median ms",
                                             "ratio", "min/min"))
    for r in rows:
        print("%-56.56s %-18s %9.1f %10.1f %7.2fx %7.2fx" % r)
    print("machine: %s, %d CPUs, kernel %s" % (os.uname().nodename, os.cpu_count(),
                                              os.uname().release))


if __name__ == "__main__":
    main()
