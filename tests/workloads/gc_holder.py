# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A thread that spends most of its GIL time in the garbage collector.

"collector" builds reference cycles and collects them for about 0.6 s of
its own CPU; gc.callbacks time every collection that runs in it (its own
clock around each, perf_counter_ns), automatic ones included.  Prints
its ground truth as JSON: the thread's native id, its CPU time, the time
it spent collecting, the collections.
"""
import gc
import json
import sys
import threading
import time

gc_ns = [0]
collections = [0]
started = [0]


def timed(phase, info):
    if threading.current_thread().name != "collector":
        return
    if phase == "start":
        started[0] = time.perf_counter_ns()
    else:
        gc_ns[0] += time.perf_counter_ns() - started[0]
        collections[0] += 1


class Node:
    def __init__(self):
        self.other = None


def collector(out):
    c0 = time.thread_time_ns()
    end = time.thread_time() + 0.6
    while time.thread_time() < end:
        for _ in range(2000):
            a, b = Node(), Node()
            a.other, b.other = b, a
        gc.collect()
    out["thread_time_ns"] = time.thread_time_ns() - c0


def main():
    gc.callbacks.append(timed)
    out = {}
    th = threading.Thread(target=collector, args=(out,), name="collector")
    th.start()
    th.join()
    gc.callbacks.remove(timed)
    print(json.dumps({"pid": __import__("os").getpid(), "python": sys.version.split()[0],
                      "tid": th.native_id, "gc_ns": gc_ns[0], "collections": collections[0],
                      "thread_time_ns": out["thread_time_ns"]}), flush=True)


if __name__ == "__main__":
    main()
