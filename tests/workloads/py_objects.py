# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Known threads wait on known threading and queue objects a known number
of times, for the lock table's rows of Python objects (one row per
object, whatever futexes its waits slept on).

  "cond-waiter" waits WAITS times in cond_a.wait()   (a Condition)
  "consumer"    waits WAITS times in q.get()         (a queue.Queue)
  "mixer"       waits WAITS times in cond_b.wait() and as many in
                ev.wait() (an Event), alternately: before 3.13 each of
                these waits sleeps on a semaphore allocated for that wait
                and freed after it, which malloc hands to the next one
                (often at the same address, the Condition's and the
                Event's waits alike)

The main thread wakes each wait only once the waiter is in it (its lock
is in the Condition's _waiters: the wait has begun) and HOLD_S later
(it has gone to sleep in futex(2) by then), so that every wait blocks.
One thread wakes them all, one at a time: no two waits' wakes race.

Prints its ground truth as JSON at the end: per object its id(), the
waits and their time on CLOCK_MONOTONIC around each wait() / get() (the
mixer's each, [start, end]), the waiting thread's native id and name,
and the functions' frame names and the lines of the waits (from "# @MARK"
comments, as py_places.py gives them).

usage: py_objects.py [WAITS]
"""
import json
import os
import queue
import sys
import threading
import time

HOLD_S = 0.008


def cond_waiter(cond, n, out):
    spans = []
    for _ in range(n):
        with cond:
            t0 = time.monotonic_ns()
            cond.wait()  # @wait
            spans.append([t0, time.monotonic_ns()])
    out["spans"] = spans


def consumer(q, n, out):
    spans = []
    for _ in range(n):
        t0 = time.monotonic_ns()
        q.get()  # @get
        spans.append([t0, time.monotonic_ns()])
    out["spans"] = spans


def mixer(cond, ev, n, out_c, out_e):
    sc, se = [], []
    for _ in range(n):
        with cond:
            t0 = time.monotonic_ns()
            cond.wait()  # @cond_wait
            sc.append([t0, time.monotonic_ns()])
        t0 = time.monotonic_ns()
        ev.wait()  # @event_wait
        se.append([t0, time.monotonic_ns()])
        ev.clear()
    out_c["spans"], out_e["spans"] = sc, se


def when_waiting(cond):
    """Returns HOLD_S after a thread began to wait on cond (its waiter
    lock is listed)."""
    while True:
        with cond:
            if cond._waiters:
                break
        time.sleep(0.0005)
    time.sleep(HOLD_S)


def notify(cond):
    with cond:
        cond.notify()


def frame_info(fn, marks=()):
    import inspect
    code = fn.__code__
    src, first = inspect.getsourcelines(fn)
    info = {"frame_name": getattr(code, "co_qualname", code.co_name),
            "file": code.co_filename, "first": first, "last": first + len(src) - 1}
    for m in marks:
        hits = [first + i for i, l in enumerate(src) if l.rstrip().endswith("# @" + m)]
        assert len(hits) == 1, (fn.__name__, m, hits)
        info[m] = hits[0]
    return info


def main():
    waits = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    cond_a, cond_b = threading.Condition(), threading.Condition()
    ev = threading.Event()
    q = queue.Queue()
    res = {k: {} for k in ("cond_a", "queue", "cond_b", "event")}
    who = {}

    def named(role, fn, *a):
        def body():
            who[role] = {"tid": threading.get_native_id(),
                         "name": threading.current_thread().name}
            fn(*a)
        return body

    threads = [threading.Thread(target=named("cond-waiter", cond_waiter, cond_a, waits,
                                             res["cond_a"]), name="cond-waiter"),
               threading.Thread(target=named("consumer", consumer, q, waits, res["queue"]),
                                name="consumer"),
               threading.Thread(target=named("mixer", mixer, cond_b, ev, waits, res["cond_b"],
                                             res["event"]), name="mixer")]
    for t in threads:
        t.start()
    for i in range(waits):
        when_waiting(cond_a)
        notify(cond_a)
        when_waiting(q.not_empty)
        q.put(i)
        when_waiting(cond_b)
        notify(cond_b)
        when_waiting(ev._cond)
        ev.set()
    for t in threads:
        t.join()

    kinds = {"cond_a": ("threading.Condition", cond_a, "cond-waiter"),
             "queue": ("queue.Queue", q, "consumer"),
             "cond_b": ("threading.Condition", cond_b, "mixer"),
             "event": ("threading.Event", ev, "mixer")}
    objects = {}
    for k, (kind, obj, role) in kinds.items():
        spans = res[k]["spans"]
        objects[k] = {"kind": kind, "id": hex(id(obj)), "waits": len(spans),
                      "wait_ns": sum(b - a for a, b in spans), "spans": spans,
                      "tid": who[role]["tid"], "thread": who[role]["name"]}
    print(json.dumps({
        "pid": os.getpid(), "python": sys.version.split()[0], "objects": objects,
        "functions": {"cond_waiter": frame_info(cond_waiter, ["wait"]),
                      "consumer": frame_info(consumer, ["get"]),
                      "mixer": frame_info(mixer, ["cond_wait", "event_wait"])}}), flush=True)


if __name__ == "__main__":
    main()
