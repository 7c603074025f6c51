# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Threads contending one threading.Lock: each takes it ROUNDS times and
holds it HOLD_MS (sleeping, so the others wait in the kernel).  Meant for
a Python without a GIL (nogil), where the lock is the only thing the
threads contend for.

Prints its own ground truth as JSON: per thread its native id, how many
of its acquisitions found the lock taken (a failed non-blocking try
first) and the time those waited (CLOCK_MONOTONIC around the blocking
acquire), and the interpreter's GIL state.

usage: lock_threads.py THREADS ROUNDS HOLD_MS
"""
import json
import sys
import threading
import time


def main():
    nthreads, rounds, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1e3
    lock = threading.Lock()
    go = threading.Event()
    results = [None] * nthreads

    def work(i):
        contended, waited = 0, 0
        go.wait()
        for _ in range(rounds):
            if not lock.acquire(blocking=False):
                t0 = time.monotonic_ns()
                lock.acquire()
                waited += time.monotonic_ns() - t0
                contended += 1
            time.sleep(hold)
            lock.release()
        results[i] = {"tid": threading.get_native_id(), "contended": contended,
                      "wait_ns": waited}

    threads = [threading.Thread(target=work, args=(i,), name="locker-%d" % i)
               for i in range(nthreads)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    nogil = getattr(sys.flags, "nogil", False) or \
        (hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled())
    print(json.dumps({"gil": not nogil, "threads": results}))


if __name__ == "__main__":
    main()
