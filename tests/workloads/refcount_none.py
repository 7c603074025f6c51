# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Threads that touch None: `x = None` takes a reference to None and gives
the old one back, two writes of None's reference count per loop on a
CPython where None is mortal (3.11 and older); 3.12 made None immortal,
so the same loop writes nothing (PEP 683).

usage: refcount_none.py THREADS SECONDS
Prints its own figures as JSON: each thread's native id and loop count.
"""
import json
import sys
import threading
import time


def main():
    nthreads, seconds = int(sys.argv[1]), float(sys.argv[2])
    results = [None] * nthreads
    deadline = time.monotonic() + seconds

    def work(i):
        n = 0
        x = None
        while time.monotonic() < deadline:
            x = None
            x = None
            n += 1
        results[i] = {"tid": threading.get_native_id(), "loops": n}
        return x

    threads = [threading.Thread(target=work, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"python": sys.version.split()[0], "threads": results}), flush=True)


if __name__ == "__main__":
    main()
