#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Demo 3: the convoy effect, and what sys.setswitchinterval does to it.

A thread doing short socket round trips (an echo over a socketpair) runs
beside one CPU-bound thread.  Each round trip releases the GIL for the
blocking recv; coming back, the I/O thread must wait for the CPU thread
to be forced out - up to a whole switch interval - for microseconds of
work.  A shorter interval shortens the wait, at the price of more
switches for the CPU thread.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demolib as d  # noqa: E402


def main():
    a = d.parse_args(__doc__)
    d.need_root()
    ver, py = d.a_python()
    trips = 60 if a.quick else 300
    rows, means, figures = [], {}, {}
    for interval in (0.005, 0.0005):
        rep, truth, text = d.traced([py, os.path.join(d.WORKLOADS, "convoy.py"), str(trips),
                                     str(interval)], svg=a.svg,
                                    name="3-convoy-%gms" % (interval * 1e3))
        io = [t for t in d.gil_threads(rep) if t["tid"] == truth["io_tid"]][0]
        cpu = [t for t in d.gil_threads(rep) if t["tid"] == truth["cpu_tid"]][0]
        means[interval] = truth["mean_trip_ns"]
        # what the GIL decided, beside the workload's own clock (the test
        # suite checks these; the trips' ratio depends on the scheduler)
        figures["%gms" % (interval * 1e3)] = {
            "interval_ns": interval * 1e9, "trips": trips, "io_ns": truth["io_ns"],
            "mean_trip_ns": truth["mean_trip_ns"], "io_waited_ns": io["waited_ns"],
            "io_convoy": io["convoy"], "io_convoy_waits": io["convoy_waits"],
            "cpu_hold_p50_ns": cpu["hold_ns"]["p50"], "cpu_forced_drops": cpu["forced_drops"],
            "cpu_voluntary_drops": cpu["voluntary_drops"],
            # which Python code held the GIL and waited (the test suite
            # checks it is convoy.py's cpu and io)
            "code": d.code_summary(rep, {io["tid"], cpu["tid"]})}
        if interval == 0.005:
            convoy = rep, io, cpu
        rows.append(("%g ms" % (interval * 1e3), d.ms(truth["mean_trip_ns"]),
                     d.ms(io["waited_ns"] / trips), io["convoy_waits"],
                     "yes" if io["convoy"] else "no",
                     "%.0f" % (cpu["forced_drops"] / (truth["io_ns"] / 1e9))))
    print("%d round trips beside a CPU-bound thread, Python %s:" % (trips, ver))
    d.table(("INTERVAL", "TRIP (mean)", "GIL WAIT/TRIP", "LONG WAITS", "CONVOY",
             "CPU FORCED OUT/S"), rows)
    d.say_code(convoy[0], {convoy[2]["tid"]}, {convoy[1]["tid"]}, lead="Python code (5 ms)")
    print()
    print("TRIP is the workload's own clock; GIL WAIT/TRIP is gilscope's: the I/O")
    print("thread's time waiting for the GIL, per round trip.  A round trip is the far")
    print("end's 1 ms answer (another process) and microseconds of work, yet each one")
    print("waits for the CPU thread to be asked to")
    print("drop the GIL - a switch interval.  LONG WAITS counts returns from a blocking")
    print("call followed by a wait of half an interval or more (the convoy).  At 0.5 ms")
    print("the trips are %.1fx faster; the CPU thread pays by being forced out more"
          % (means[0.005] / means[0.0005]))
    print("often (CPU FORCED OUT/S: forced drops per second of the I/O phase).")
    d.write_summary(a.summary, {"python": ver,
                                "mean_trip_ns": {"5ms": means[0.005], "0.5ms": means[0.0005]},
                                "runs": figures})


if __name__ == "__main__":
    main()
