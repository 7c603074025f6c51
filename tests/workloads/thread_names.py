# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Threads with Python names, every way threading keeps them, parked.

Starts threads named "worker-1" (attributes as a plain instance keeps
them), "worker-2" (its __dict__ asked for: a real dict from then on),
a Thread subclass with 40 more attributes (more than a class's shared
keys hold), one with a non-ASCII name and one whose name is longer than
gilscope keeps (cut inside a 2-byte character), a ThreadPoolExecutor's
threads ("ThreadPoolExecutor-0_0", ...), a thread started outside
threading (_thread) that threading knows as a _DummyThread, and one
Thread that is made but never started (not running: no name to read).

usage: thread_names.py [MAIN_NAME]
MAIN_NAME renames the main thread.  When all threads run, prints one
JSON line, threading's own {native_id: name} for every running thread
and the pid, then waits for a line on stdin and lets every thread end.
"""
import _thread
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor


class Busy(threading.Thread):
    def __init__(self, name, stop):
        super().__init__(name=name, target=stop.wait)
        for i in range(40):
            setattr(self, "extra_%d" % i, i)


def main():
    stop = threading.Event()
    started = threading.Semaphore(0)
    w1 = threading.Thread(name="worker-1", target=stop.wait)
    w2 = threading.Thread(name="worker-2", target=stop.wait)
    vars(w2)
    threads = [w1, w2, Busy("busy-many-attrs", stop),
               threading.Thread(name="wörker-ünïcode-名前", target=stop.wait),
               threading.Thread(name="long-" + "x" * 57 + "é-tail", target=stop.wait)]
    threading.Thread(name="never-started", target=stop.wait)
    for t in threads:
        t.start()
    pool = ThreadPoolExecutor(max_workers=2)
    # both pool threads busy at once: the pool made both
    both = threading.Barrier(3)
    for _ in range(2):
        pool.submit(lambda: (both.wait(), stop.wait()))
    both.wait()

    def foreign():
        threading.current_thread()  # registers a _DummyThread
        started.release()
        stop.wait()

    _thread.start_new_thread(foreign, ())
    started.acquire()
    if len(sys.argv) > 1:
        threading.current_thread().name = sys.argv[1]
    names = {str(t.native_id): t.name for t in threading.enumerate()}
    print(json.dumps({"pid": os.getpid(), "threads": names}), flush=True)
    sys.stdin.readline()
    stop.set()
    for t in threads:
        t.join()
    pool.shutdown()


if __name__ == "__main__":
    main()
