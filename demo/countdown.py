# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The articles' Code 4.1 - 4.3: a countdown loop, whole in one thread or
split in halves over two.  Prints its own wall time and each thread's
CPU time (time.thread_time) as JSON.

usage: countdown.py THREADS N      (N decrements in all, split evenly)
"""
import json
import sys
import threading
import time


def countdown(n, out, i):
    c0 = time.thread_time_ns()
    while n > 0:
        n -= 1
    out[i] = {"tid": threading.get_native_id(), "cpu_ns": time.thread_time_ns() - c0}


def main():
    nthreads, n = int(sys.argv[1]), int(sys.argv[2])
    out = [None] * nthreads
    threads = [threading.Thread(target=countdown, args=(n // nthreads, out, i), name="count-%d" % i)
               for i in range(nthreads)]
    t0 = time.monotonic_ns()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"threads": out, "wall_ns": time.monotonic_ns() - t0}), flush=True)


if __name__ == "__main__":
    main()
