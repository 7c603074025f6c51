# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The articles' CPU-bound fib, in N threads: the GIL's textbook case.

Prints its own ground truth as JSON: each thread's native id, its CPU time
(time.thread_time, which the GIL's holder alone accumulates) and the
CPU-bound phase's wall time on CLOCK_MONOTONIC (the clock BPF uses).
During the phase the workers do nothing but compute: no I/O, no GIL
release of their own.

usage: fib_threads.py THREADS N [SWITCH_INTERVAL_S]
       fib_threads.py THREADS dSECONDS [SWITCH_INTERVAL_S]
The second form keeps every thread computing fib(20) until a common
deadline, so all of them want the GIL for the whole phase.
"""
import json
import sys
import threading
import time


def run_delay_ns(tid):
    """Time thread @tid spent runnable but not running (preempted), from
    /proc/self/task/TID/schedstat; None where schedstats are missing.
    Read by the main thread while the workers are parked: reading a file
    releases the GIL several times (open, fstat, read, close), and a
    worker doing it would add short voluntary holds of its own to the
    forced ones it is there to show."""
    try:
        with open("/proc/self/task/%d/schedstat" % tid) as f:
            return int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    nthreads = int(sys.argv[1])
    until = None
    if sys.argv[2].startswith("d"):
        until = float(sys.argv[2][1:])
        n = 20
    else:
        n = int(sys.argv[2])
    if len(sys.argv) > 3:
        sys.setswitchinterval(float(sys.argv[3]))
    results = [None] * nthreads
    go = threading.Event()
    started, finished = threading.Semaphore(0), threading.Semaphore(0)
    may_exit = threading.Event()
    deadline = [0.0]

    def work(i):
        started.release()
        go.wait()
        c0 = time.thread_time_ns()
        if until is None:
            fib(n)
        else:
            while time.monotonic() < deadline[0]:
                fib(n)
        c1 = time.thread_time_ns()
        results[i] = {"tid": threading.get_native_id(), "name": threading.current_thread().name,
                      "thread_time_ns": c1 - c0}
        finished.release()
        may_exit.wait()

    threads = [threading.Thread(target=work, args=(i,), name="fib-%d" % i)
               for i in range(nthreads)]
    for t in threads:
        t.start()
    for _ in threads:      # every worker up, about to wait for go
        started.acquire()
    delay0 = {t.native_id: run_delay_ns(t.native_id) for t in threads}
    t0 = time.monotonic_ns()
    if until is not None:
        deadline[0] = time.monotonic() + until
    go.set()
    for _ in threads:
        finished.acquire()
    t1 = time.monotonic_ns()
    for r in results:
        d0, d1 = delay0.get(r["tid"]), run_delay_ns(r["tid"])
        r["run_delay_ns"] = None if d0 is None or d1 is None else d1 - d0
    may_exit.set()
    for t in threads:
        t.join()
    print(json.dumps({"pid": __import__("os").getpid(), "python": sys.version.split()[0],
                      "switch_interval_s": sys.getswitchinterval(),
                      "phase": {"start_ns": t0, "end_ns": t1, "wall_ns": t1 - t0},
                      "threads": results}), flush=True)


if __name__ == "__main__":
    main()
