#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Demo 2: fib in 1, 2 and 4 threads on CPython: threads do not scale.

The articles' Code 4.4 / 4.5.  Each thread computes fib(N); with T threads
there is T times the work.  On a 2-core machine, without a GIL, 2 threads
would take as long as 1.  With it, the wall time grows with the work: the
threads only take turns, and each one spends most of its life waiting.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demolib as d  # noqa: E402


def main():
    a = d.parse_args(__doc__)
    d.need_root()
    ver, py = d.a_python()
    n = 29 if a.quick else 30
    rows, walls, figures = [], {}, {}
    for nthreads in (1, 2, 4):
        rep, truth, _ = d.traced([py, os.path.join(d.WORKLOADS, "fib_threads.py"),
                                  str(nthreads), str(n)], svg=a.svg,
                                 name="2-fib-%d" % nthreads)
        wall = truth["phase"]["wall_ns"]
        walls[nthreads] = wall
        tids = {t["tid"] for t in truth["threads"]}
        ts = d.gil_threads(rep, tids)
        held = sum(t["held_ns"] for t in ts) / len(ts)
        waited = sum(t["waited_ns"] for t in ts) / len(ts)
        cpu = sum(t["thread_time_ns"] for t in truth["threads"])
        # what the GIL decided, beside the workload's own clocks (the test
        # suite checks these; the wall-time ratios depend on the scheduler)
        figures[str(nthreads)] = {
            "wall_ns": wall, "cpu_ns": [t["thread_time_ns"] for t in truth["threads"]],
            "run_delay_ns": [t["run_delay_ns"] for t in truth["threads"]],
            "held_ns": [t["held_ns"] for t in ts], "traced_ns": rep["target"]["duration_ns"],
            # which Python code held the GIL and waited (the test suite
            # checks it is fib_threads.py's fib)
            "code": d.code_summary(rep, tids)}
        widest = rep, tids      # the run named in words: the most threads
        rows.append((nthreads, d.ms(wall), "%.2fx" % (wall / walls[1]), d.ms(cpu),
                     "%.0f%%" % d.pct(held, wall), "%.0f%%" % d.pct(waited, wall),
                     sum(t["forced_drops"] for t in ts)))
    print("fib(%d) per thread, Python %s, switch interval 5 ms:" % (n, ver))
    d.table(("THREADS", "WALL", "VS-1", "CPU-SUM", "HELD/THREAD", "WAITING/THREAD",
             "FORCED-SWITCHES"), rows)
    d.say_code(widest[0], widest[1], widest[1], lead="Python code (%d threads)" % nthreads)
    print()
    print("Wall time grows with the work (%.2fx for 2 threads' double work, %.2fx for 4):"
          % (walls[2] / walls[1], walls[4] / walls[1]))
    print("the sum of the threads' CPU time is the wall time - one runs at a time.")
    print("Each thread holds the GIL 1/T of the time and waits the rest; the GIL changes")
    print("hands when a waiter's 5 ms timed wait expires and it asks the holder to drop")
    print("it (FORCED-SWITCHES).  For CPU-bound Python, threads buy no parallelism:")
    print("processes do (demo 4).")
    d.write_summary(a.summary, {"python": ver,
                                "wall_ns": {str(k): v for k, v in walls.items()},
                                "runs": figures})


if __name__ == "__main__":
    main()
