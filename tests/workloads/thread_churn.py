# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Threads that start and end all the time, for reading threading's
records while they change: "churn-N" threads that each live a moment,
four at a time, and one long-lived "steady" thread.

usage: thread_churn.py
Prints {"pid": PID, "steady": NATIVE_ID} once churning, then churns until
a line arrives on stdin.
"""
import json
import os
import sys
import threading


def main():
    stop = threading.Event()
    steady = threading.Thread(name="steady", target=stop.wait)
    steady.start()

    def churn():
        n = 0
        while not stop.is_set():
            ts = [threading.Thread(name="churn-%d" % (n + i), target=lambda: None)
                  for i in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            n += 4

    c = threading.Thread(name="churner", target=churn)
    c.start()
    print(json.dumps({"pid": os.getpid(), "steady": steady.native_id}), flush=True)
    sys.stdin.readline()
    stop.set()
    c.join()
    steady.join()


if __name__ == "__main__":
    main()
