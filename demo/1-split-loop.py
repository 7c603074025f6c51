#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Demo 1: one loop, or the same loop split over two threads: same time.

The articles' Code 4.1 - 4.3.  A countdown of N runs in one thread, then
as two halves in two threads on a 2-core machine.  Without a GIL the two
halves would run at once and finish in half the time; with it, only one
thread runs Python at a time, and gilscope's timeline shows them taking
turns.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demolib as d  # noqa: E402


def main():
    a = d.parse_args(__doc__)
    d.need_root()
    ver, py = d.a_python()
    n = 4_000_000 if a.quick else 30_000_000
    work = os.path.join(d.HERE, "countdown.py")
    runs, figures = {}, {}
    for nthreads in (1, 2):
        rep, truth, text = d.traced([py, work, str(nthreads), str(n)], svg=a.svg,
                                    name="1-split-loop-%d" % nthreads)
        runs[nthreads] = (rep, truth, text)
        print("== %d thread%s counting down %d in all (Python %s)"
              % (nthreads, "" if nthreads == 1 else "s", n, ver))
        tids = {t["tid"] for t in truth["threads"]}
        rows = []
        gts = d.gil_threads(rep, tids)
        # what the GIL decided, beside the workload's own clocks (the test
        # suite checks these; the wall-time ratio depends on the scheduler)
        figures[str(nthreads)] = {
            "wall_ns": truth["wall_ns"], "cpu_ns": [t["cpu_ns"] for t in truth["threads"]],
            "held_ns": [t["held_ns"] for t in gts], "acquisitions": [t["acquisitions"] for t in gts],
            "traced_ns": rep["target"]["duration_ns"],
            # which Python code held the GIL and waited (the test suite
            # checks it is countdown.py's countdown, and main in a join)
            "code": d.code_summary(rep, tids, "demo/countdown.py")}
        for t in gts:
            dur = rep["target"]["duration_ns"]
            rows.append((d.who(t), "%.0f%%" % d.pct(t["held_ns"], dur),
                         "%.0f%%" % d.pct(t["waited_ns"], dur), t["acquisitions"],
                         d.ms(t["hold_ns"]["p50"])))
        d.table(("THREAD", "HELD", "WAITING", "ACQ", "HOLD-P50"), rows)
        print("  wall time (the workload's own clock): %s" % d.ms(truth["wall_ns"]))
        if nthreads == 2:
            print(d.timeline(text))
            d.say_code(rep, tids, tids, "demo/countdown.py")
        print()
    w1, w2 = runs[1][1]["wall_ns"], runs[2][1]["wall_ns"]
    print("One thread: %s.  Two threads, half the work each: %s (%.2fx)."
          % (d.ms(w1), d.ms(w2), w2 / w1))
    print("Two cores, yet no faster: the timeline's '#' (holding the GIL) never")
    print("overlap - each thread runs a switch interval, then waits ('-') while the")
    print("other runs.  The GIL lets one thread at a time execute Python bytecode.")
    d.write_summary(a.summary, {"python": ver, "wall_1_ns": w1, "wall_2_ns": w2,
                                "ratio": w2 / w1, "runs": figures})


if __name__ == "__main__":
    main()
