#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Demo 4: the same work in processes: one GIL each, busy in parallel.

fib(N) twice: in two threads of one interpreter, then in two processes
(multiprocessing).  gilscope traces each process by PID (one gilscope per
process, attached before the work starts): each interpreter's GIL is held
nearly all the time, at the same time as the other's, and the work takes
half the wall time of the threaded version on two cores.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demolib as d  # noqa: E402


def main():
    a = d.parse_args(__doc__)
    d.need_root()
    ver, py = d.a_python()
    n = 30 if a.quick else 31

    rep, truth, _ = d.traced([py, os.path.join(d.WORKLOADS, "fib_threads.py"), "2", str(n)],
                             svg=a.svg, name="4-threads")
    threads_wall = truth["phase"]["wall_ns"]
    tids = {t["tid"] for t in truth["threads"]}
    # what the GIL decided, beside the workloads' own clocks (the test
    # suite checks these; the wall-time ratio depends on the scheduler)
    threads_run = {"wall_ns": threads_wall,
                   "cpu_ns": [t["thread_time_ns"] for t in truth["threads"]],
                   "held_ns": [t["held_ns"] for t in d.gil_threads(rep, tids)],
                   "traced_ns": rep["target"]["duration_ns"],
                   # which Python code held the GIL and waited (the test
                   # suite checks it is fib_threads.py's fib)
                   "code": d.code_summary(rep, tids)}
    procs_run = []

    tmp = tempfile.mkdtemp(prefix="gilscope-demo-")
    wl = subprocess.Popen([py, os.path.join(d.HERE, "fib_procs.py"), "2", str(n)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pids = json.loads(wl.stdout.readline())["pids"]
    tracers = []
    for pid in pids:
        out = os.path.join(tmp, "%d.json" % pid)
        t = subprocess.Popen([d.GILSCOPE, "-p", str(pid), "--json", out],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = t.stderr.readline()      # "gilscope: tracing pid ..."
        if "tracing pid" not in line:
            wl.kill()
            sys.exit("demo: gilscope could not attach to %d: %s%s" % (pid, line, t.stderr.read()))
        tracers.append((pid, t, out))
    wl.stdin.write("go\n")
    wl.stdin.flush()
    res = json.loads(wl.stdout.readline())
    wl.wait()
    rows = []
    held_pct = []
    words, w = [], d.Words()
    for pid, t, out in tracers:
        t.wait()        # ends when its process exits (status 3)
        with open(out) as f:
            r = json.load(f)
        own = [p for p in res["processes"] if p["pid"] == pid][0]
        g = r["gil"]
        held = sum(x["held_ns"] for x in g["threads"]) if g else 0
        held_pct.append(d.pct(held, r["target"]["duration_ns"]))
        # the code its busiest thread held its GIL in, and how long any of
        # its threads waited for it (the test suite checks fib_procs.py's fib)
        code = sorted(d.python_code(r), key=lambda c: -c["held_ns"])[:1]
        if d.no_stacks(r) or not code:
            words.append("pid %d: none named: %s" % (pid, d.no_stacks(r) or "no stack caught"))
        else:
            words.append("pid %d: %s, its threads waiting for it %s in all" % (
                pid, d.gil_words(r, code, [], w),
                d.ms(sum(x["waited_ns"] for x in g["threads"]))))
        procs_run.append({"pid": pid, "held_ns": held, "fib_wall_ns": own["wall_ns"],
                          "cpu_ns": own["cpu_ns"],
                          "code": d.code_summary(r, {code[0]["tid"]} if code else None)})
        rows.append((pid, (g or {}).get("python", "-"), d.ms(own["wall_ns"]),
                     d.ms(r["target"]["duration_ns"]), d.ms(held), "%.0f%%" % held_pct[-1],
                     sum(x["acquisitions"] for x in g["threads"])))
    ps = res["processes"]
    overlap = max(0, min(p["end_ns"] for p in ps) - max(p["start_ns"] for p in ps))
    print("fib(%d) twice, Python %s" % (n, ver))
    print("in 2 threads of one process: %s wall (one GIL, taken in turns)" % d.ms(threads_wall))
    print("in 2 processes: %s wall; each process's own GIL, traced by its own gilscope:"
          % d.ms(res["wall_ns"]))
    d.table(("PID", "PYTHON", "FIB", "TRACED", "GIL HELD", "OF TRACED", "ACQ"), rows)
    d.say_code(rep, tids, tids, lead="Python code (threads)")
    d.say("Python code (processes), as gilscope read it: %s." % "; ".join(words))
    print()
    print("Each interpreter holds its own GIL whenever it runs Python (TRACED includes")
    print("the wait for the start signal, GIL released), and the two fibs ran at the same")
    print("time for %s (their own clocks): %.2fx the threaded wall time."
          % (d.ms(overlap), res["wall_ns"] / threads_wall))
    print("Processes pay in memory and in pickling what they share; for CPU-bound")
    print("Python on a CPython with a GIL they are how to use the cores.")
    d.write_summary(a.summary, {"python": ver, "threads_wall_ns": threads_wall,
                                "processes_wall_ns": res["wall_ns"], "held_pct": held_pct,
                                "overlap_ns": overlap, "threads": threads_run,
                                "processes": procs_run})


if __name__ == "__main__":
    main()
