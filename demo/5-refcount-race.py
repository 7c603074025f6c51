#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Demo 5: the refcount race the GIL prevents, and what each cure costs.

gildemo's two threads take and drop references to shared objects (one
only incremented, one only decremented) in every instruction, like
Py_INCREF/Py_DECREF: with its GIL, without it (the plain load-add-store
of a GIL build, racing), and without it but with atomic counts (what a
free-threaded build does).  gilscope watches both counts with hardware
watchpoints and finds the lost updates; gildemo counts them itself.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demolib as d  # noqa: E402

MODES = [("GIL, plain counts", ["--gil", "on", "--refcount", "plain"]),
         ("no GIL, plain counts", ["--gil", "off", "--refcount", "plain"]),
         ("no GIL, atomic counts", ["--gil", "off", "--refcount", "atomic"])]


def untraced_rate(args, seconds):
    """Instructions per second of gildemo in this mode, untraced: the cost."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
        subprocess.run([d.GILDEMO, "--threads", "2", "--objects", "2", "--refops", "split",
                        "--duration", str(seconds), "--json", f.name] + args,
                       stdout=subprocess.DEVNULL, check=True)
        t = json.load(f)
    return t["instructions"] / (t["wall_ns"] / 1e9)


def main():
    a = d.parse_args(__doc__)
    d.need_root()
    secs = 0.5 if a.quick else 1.5
    rows, summary, first = [], {}, None
    for label, args in MODES:
        rate = untraced_rate(args, secs)
        tmp = tempfile.mkdtemp(prefix="gilscope-demo-")
        truth_path = os.path.join(tmp, "truth.json")
        rep, _, _ = d.traced([d.GILDEMO, "--threads", "2", "--objects", "2", "--refops",
                              "split", "--duration", str(secs), "--json", truth_path] + args,
                             args=["refcount", "--object",
                                   "gildemo_objects,gildemo_objects+64"])
        if not os.path.exists(truth_path):
            sys.exit("demo: gildemo wrote no ground truth in mode '%s'" % label)
        with open(truth_path) as f:
            truth = json.load(f)
        objs = rep["refcount"]["objects"]
        lost_truth = truth["objects"][0]["lost_increments"] + truth["objects"][1]["lost_decrements"]
        lost_seen = sum(o["lost_updates_detected"] or 0 for o in objs)
        writes = sum(o["writes"] for o in objs)
        nogil = sum(o["writes_without_gil"] for o in objs)
        switches = sum(o["cross_thread_switches"] for o in objs)
        rows.append((label, "%.1f M/s" % (rate / 1e6), writes, "%.0f%%" % d.pct(switches, writes),
                     nogil, lost_seen, lost_truth))
        summary[label] = {"lost_detected": lost_seen, "lost_truth": lost_truth,
                          "rate": rate, "writes_without_gil": nogil,
                          # gildemo is C: no Python code for gilscope to name
                          "no_python_code": d.no_stacks(rep)}
        first = first or rep
    print("gildemo, 2 threads, an incref-only and a decref-only shared object:")
    d.table(("MODE", "SPEED", "WRITES", "OTHER-THREAD", "NO-GIL", "LOST (gilscope)",
             "LOST (gildemo)"), rows)
    d.say_code(first, None, None, lead="Python code (%s)" % MODES[0][0])
    print()
    print("SPEED is gildemo untraced (instructions a second, each with an incref and a")
    print("decref); the rest comes from a traced run, where every write costs a debug")
    print("trap.  OTHER-THREAD: writes whose previous write came from the other thread,")
    print("the cache line moving between cores.  Without the GIL the threads' plain")
    print("load-add-store sequences overlap and updates are lost (gilscope's count is")
    print("exact for these one-direction objects and must equal gildemo's own); with the")
    print("GIL the threads write in long runs and nothing is lost; atomic counts lose")
    print("nothing either, and pay for it in every update.  Note SPEED: without the GIL")
    print("both threads run at once, yet far slower than one at a time with it - the")
    print("shared counts' cache lines bounce between the cores on every write.")
    d.write_summary(a.summary, summary)


if __name__ == "__main__":
    main()
