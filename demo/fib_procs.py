# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""fib(N) in P processes (multiprocessing, fork): each has its own
interpreter and its own GIL.  Prints {"pids": [...]} first and waits for a
line on stdin (tracers attach meanwhile), then runs them all at once and
prints each one's own wall time and CPU time, and the phase's wall time.

usage: fib_procs.py PROCESSES N
"""
import json
import multiprocessing as mp
import os
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def child(n, go, results):
    go.wait()
    t0, c0 = time.monotonic_ns(), time.process_time_ns()
    fib(n)
    t1 = time.monotonic_ns()
    results.put({"pid": os.getpid(), "start_ns": t0, "end_ns": t1, "wall_ns": t1 - t0,
                 "cpu_ns": time.process_time_ns() - c0})


def main():
    nprocs, n = int(sys.argv[1]), int(sys.argv[2])
    ctx = mp.get_context("fork")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=child, args=(n, go, results)) for _ in range(nprocs)]
    for p in procs:
        p.start()
    print(json.dumps({"pids": [p.pid for p in procs]}), flush=True)
    sys.stdin.readline()
    t0 = time.monotonic_ns()
    go.set()
    out = [results.get() for _ in procs]
    wall = time.monotonic_ns() - t0
    for p in procs:
        p.join()
    print(json.dumps({"processes": out, "wall_ns": wall}), flush=True)


if __name__ == "__main__":
    main()
