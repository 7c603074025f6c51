# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Python threads that spend known times in known functions, for the
Python stacks gilscope puts on the GIL and on locks.

Phase 1, the GIL: "hog" spins HOG_S seconds of its own CPU
(time.thread_time) in a pure Python loop in hog(), keeping the GIL but
for the forced switches; beside it "sleeper-1" calls time.sleep SLEEPS
times in sleeper(), and so waits for the GIL (held by hog) each time a
sleep ends, at the time.sleep line.

Phase 2, a lock (after phase 1: with a hog running, the waiter's own
clock around acquire() would also cover retaking the GIL after the lock
is handed over, up to a switch interval a round): "locker" takes a
threading.Lock ROUNDS times and holds it HOLD_S (sleeping, so the GIL is
free) while "waiter" blocks on it in acquire().

Throughout: a ThreadPoolExecutor ("idle-pool") whose one worker ran one
trivial job and then waits, idle, for another until the end.

Every thread is named and stays alive until the main thread has read
everyone's results, so their names can be read from the threading
module at any time of the run.  Prints its own ground truth as JSON at
the end: each thread's native id and name; the functions' frame names
("qualname" on 3.11+, co_name before: what a frame walk reads from the
code object), file and lines; the lines of the calls a stack should end
at (from "# @MARK" comments on those lines, found in the source with
inspect); hog's thread_time; the waiter's own waits (CLOCK_MONOTONIC
around the blocking acquire, which follows a failed non-blocking try);
the Python version.

usage: py_places.py [HOG_S [SLEEPS [ROUNDS]]] [--numpy]
--numpy adds a thread "numpy" in phase 1 doing matrix products (numpy
releases the GIL in them, and so waits for it at their line each time
one ends) beside the hog, for the optional numpy check.
"""
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SLEEP_S = 0.005
HOLD_S = 0.010


def hog(cpu_s, out):
    t0 = time.monotonic_ns()
    c0 = time.thread_time_ns()
    end = c0 + int(cpu_s * 1e9)
    x = 0
    while time.thread_time_ns() < end:
        for i in range(5000):
            x += i
    out["thread_time_ns"] = time.thread_time_ns() - c0
    out["wall_ns"] = time.monotonic_ns() - t0
    return x


def sleeper(n, out):
    t0 = time.monotonic_ns()
    for _ in range(n):
        time.sleep(SLEEP_S)  # @sleep
    out["wall_ns"] = time.monotonic_ns() - t0
    out["sleeps"] = n


def locker(lock, rounds, taken, back, out):
    held = 0
    for _ in range(rounds):
        lock.acquire()
        t0 = time.monotonic_ns()
        taken.release()         # the waiter may try now
        time.sleep(HOLD_S)
        held += time.monotonic_ns() - t0
        lock.release()
        back.acquire()          # the waiter had its turn
    out["hold_ns"] = held


def waiter(lock, rounds, taken, back, out):
    contended, waited, longest = 0, 0, 0
    for _ in range(rounds):
        taken.acquire()
        if not lock.acquire(blocking=False):
            t0 = time.monotonic_ns()
            lock.acquire()  # @acquire
            w = time.monotonic_ns() - t0
            waited += w
            longest = max(longest, w)
            contended += 1
        lock.release()
        back.release()
    out.update(contended=contended, wait_ns=waited, max_wait_ns=longest)


def numpy_worker(numpy, stop, out):
    a = numpy.ones((300, 300))
    n = 0
    while not stop.is_set():
        a = a @ a / 300.0  # @matmul
        n += 1
    out["products"] = n


def pool_job():
    return threading.get_native_id(), threading.current_thread().name


def frame_info(fn, marks=()):
    """What a frame walk names fn's frames: its code's qualname (3.11+)
    or name, its file as the code has it, its first and last lines, and
    the lines of the "# @MARK" comments in it."""
    import inspect
    code = fn.__code__
    src, first = inspect.getsourcelines(fn)
    info = {"frame_name": getattr(code, "co_qualname", code.co_name),
            "qualname": fn.__qualname__, "file": code.co_filename,
            "first": first, "last": first + len(src) - 1}
    for m in marks:
        hits = [first + i for i, l in enumerate(src) if l.rstrip().endswith("# @" + m)]
        assert len(hits) == 1, (fn.__name__, m, hits)
        info[m] = hits[0]
    return info


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    with_numpy = "--numpy" in sys.argv[1:]
    # imported before the phases: an import beside the hog would wait for
    # the GIL after each of its many file reads
    numpy = __import__("numpy") if with_numpy else None
    hog_s = float(args[0]) if len(args) > 0 else 1.0
    sleeps = int(args[1]) if len(args) > 1 else 40
    rounds = int(args[2]) if len(args) > 2 else 20

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idle-pool")
    pool_tid, pool_name = pool.submit(pool_job).result()

    res = {"hog": {}, "sleeper": {}, "locker": {}, "waiter": {}, "numpy": {}}
    started, finished = threading.Semaphore(0), threading.Semaphore(0)
    go1, go2, may_exit = threading.Event(), threading.Event(), threading.Event()
    lock = threading.Lock()
    taken, back = threading.Semaphore(0), threading.Semaphore(0)
    numpy_stop = threading.Event()

    def run(role, go, fn, *a):
        def body():
            res[role].update(tid=threading.get_native_id(), name=threading.current_thread().name)
            started.release()
            go.wait()
            fn(*a)
            finished.release()
            may_exit.wait()
        return body

    threads = [threading.Thread(target=run("hog", go1, hog, hog_s, res["hog"]), name="hog"),
               threading.Thread(target=run("sleeper", go1, sleeper, sleeps, res["sleeper"]),
                                name="sleeper-1"),
               threading.Thread(target=run("locker", go2, locker, lock, rounds, taken, back,
                                           res["locker"]), name="locker"),
               threading.Thread(target=run("waiter", go2, waiter, lock, rounds, taken, back,
                                           res["waiter"]), name="waiter")]
    if with_numpy:
        threads.append(threading.Thread(target=run("numpy", go1, numpy_worker, numpy, numpy_stop,
                                                   res["numpy"]), name="numpy"))
    for t in threads:
        t.start()
    for _ in threads:       # every thread up, about to wait for its phase
        started.acquire()
    t0 = time.monotonic_ns()
    go1.set()
    finished.acquire()      # hog and sleeper, in either order
    finished.acquire()
    numpy_stop.set()
    if with_numpy:
        finished.acquire()
    t1 = time.monotonic_ns()
    go2.set()
    finished.acquire()      # locker and waiter
    finished.acquire()
    t2 = time.monotonic_ns()
    phases = {"gil": {"start_ns": t0, "end_ns": t1}, "lock": {"start_ns": t1, "end_ns": t2}}
    may_exit.set()
    for t in threads:
        t.join()
    pool.shutdown(wait=True)

    main_name = threading.current_thread().name
    res["waiter"]["rounds"] = res["locker"]["rounds"] = rounds
    res["sleeper"]["sleep_s"] = SLEEP_S
    res["locker"]["hold_s"] = HOLD_S
    if not with_numpy:
        del res["numpy"]
    res["pool"] = {"tid": pool_tid, "name": pool_name}
    res["main"] = {"tid": threading.get_native_id(), "name": main_name}
    truth = {"pid": os.getpid(), "python": sys.version.split()[0],
             "switch_interval_s": sys.getswitchinterval(), "phases": phases,
             "threads": [dict(role=r, tid=v["tid"], name=v["name"]) for r, v in res.items()],
             "functions": {"hog": frame_info(hog), "sleeper": frame_info(sleeper, ["sleep"]),
                           "locker": frame_info(locker),
                           "waiter": frame_info(waiter, ["acquire"]),
                           "numpy_worker": frame_info(numpy_worker, ["matmul"])}}
    truth.update(res)
    print(json.dumps(truth), flush=True)


if __name__ == "__main__":
    main()
