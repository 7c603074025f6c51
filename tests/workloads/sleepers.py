# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""N Python threads, each sleeping 1 ms in a loop: thousands of GIL
releases and retakes a second, forever.  Prints "ready" once all run."""
import sys
import threading
import time


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    up = threading.Semaphore(0)

    def nap():
        up.release()
        while True:
            time.sleep(0.001)

    for _ in range(n):
        threading.Thread(target=nap, daemon=True).start()
    for _ in range(n):
        up.acquire()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


main()
