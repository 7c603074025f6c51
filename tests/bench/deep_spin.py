# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Threads that hold the GIL at a known Python stack depth.

Each thread calls itself down to DEPTH frames below its run function,
then spins there (plain arithmetic, no calls: the stack stays that deep)
until a common deadline, so that whichever holds the GIL is at least
DEPTH frames deep whenever it is sampled.  With --sleep the threads sleep
there instead: the GIL is free, and a sampler finds no holder to read.
Prints its own truth as JSON: the phase's wall time, the depth, its pid.

With --wait it then waits for SIGUSR1 (60 s at most) before it exits, so
that a bench can read the tracer's BPF programs' run times while they
are still loaded (tests/bench/bench.py).

usage: deep_spin.py [--sleep] [--wait] [THREADS [DEPTH [SECONDS]]]
       (default 2 40 1.0)
"""
import argparse
import json
import os
import signal
import sys
import threading
import time


def down(n, until, sleep):
    if n > 1:
        return down(n - 1, until, sleep)
    if sleep:
        time.sleep(max(0.0, until - time.monotonic()))
        return 0
    x = 0
    while True:
        for _ in range(10000):
            x += 1
        if time.monotonic() >= until:
            return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sleep", action="store_true")
    ap.add_argument("--wait", action="store_true")
    ap.add_argument("threads", type=int, nargs="?", default=2)
    ap.add_argument("depth", type=int, nargs="?", default=40)
    ap.add_argument("seconds", type=float, nargs="?", default=1.0)
    a = ap.parse_args()
    sys.setrecursionlimit(max(1000, a.depth + 100))
    if a.wait:      # blocked before any thread starts: they inherit it
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    start = threading.Barrier(a.threads + 1)
    shared = {}

    def worker():
        start.wait()
        down(a.depth, shared["until"], a.sleep)

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    t0 = time.monotonic_ns()
    shared["until"] = t0 / 1e9 + a.seconds
    start.wait()
    for t in threads:
        t.join()
    print(json.dumps({"wall_ns": time.monotonic_ns() - t0, "depth": a.depth,
                      "threads": a.threads, "sleep": a.sleep, "pid": os.getpid()}), flush=True)
    if a.wait:
        signal.sigtimedwait({signal.SIGUSR1}, 60)


if __name__ == "__main__":
    main()
