#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Plain-language accounts of the demos, built from gilscope's own JSON
report (and the workload's own ground truth), never canned numbers."""
import json
import sys


def ms(ns):
    return "%.1f ms" % (ns / 1e6)


def secs(ns):
    return "%.2f s" % (ns / 1e9)


def load(path):
    with open(path) as f:
        return json.load(f)


def default(report_path, truth_path):
    rep, truth = load(report_path), load(truth_path)
    gil = rep.get("gil")
    if not gil:
        print("gilscope found no GIL in gildemo: see the lines above.")
        return 1
    threads = [t for t in gil["threads"] if t["acquisitions"]]
    dur = rep["target"]["duration_ns"]
    held = sum(t["held_ns"] for t in threads)
    forced = sum(t["forced_drops"] for t in threads)
    drops = forced + sum(t["voluntary_drops"] for t in threads)
    hold_p50 = sorted(t["hold_ns"]["p50"] for t in threads)[len(threads) // 2]
    wall = truth["wall_ns"]
    print()
    print("What you just saw")
    print("-----------------")
    print("gildemo ran %d threads that each wanted the CPU all the time, for %s of wall"
          % (len(threads), secs(wall)))
    print("time.  gilscope traced every GIL acquisition and release: together the threads")
    print("held the GIL %s of the %s traced (%.0f%%), one at a time: in the timeline"
          % (secs(held), secs(dur), 100.0 * held / dur if dur else 0))
    print("their '#' (holding) and '-' (waiting) alternate.  Each waited the rest:")
    for t in threads:
        print("  %-8s held %5.1f%%  waited %5.1f%%  (%d acquisitions)"
              % (t["comm"], 100.0 * t["held_ns"] / dur, 100.0 * t["waited_ns"] / dur,
                 t["acquisitions"]))
    print("A holder keeps the GIL for about one switch interval (median hold %s, the"
          % ms(hold_p50))
    print("interval is %d us): a waiting thread's timed wait expires, it asks the holder"
          % gil["switch_interval_us"])
    print("to drop, and the holder hands over.  %d of %d drops were forced that way."
          % (forced, drops))
    print("So a second CPU-bound thread adds no speed: only one runs Python at a time.")
    print("Self-check: the GIL's own switch_number counted %s handoffs between the traced"
          % gil["switch_number_delta"])
    print("acquisitions; gilscope traced %d: %s." % (
        gil["switches"], "none missed" if gil["missed"] == 0
        else "%d acquisitions MISSED" % gil["missed"]))
    print("gildemo's own clocks agree: it measured the threads holding the GIL %s in all."
          % secs(sum(t["held_ns"] for t in truth["threads"])))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: explain.py default REPORT.json TRUTH.json")
    sys.exit(globals()[sys.argv[1]](*sys.argv[2:]))
