# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The convoy effect: a CPU-bound thread beside a thread doing short
blocking socket round trips (an echo over a socketpair).  Each time the
I/O thread comes back from its blocking recv it must wait for the GIL,
which the CPU thread keeps until the switch interval forces it out.

Prints its own ground truth: round trips, their total and mean latency,
and the threads' native ids.

usage: convoy.py ROUND_TRIPS [SWITCH_INTERVAL_S]
"""
import json
import socket
import sys
import threading
import time


def main():
    trips = int(sys.argv[1])
    if len(sys.argv) > 2:
        sys.setswitchinterval(float(sys.argv[2]))
    a, b = socket.socketpair()
    stop = threading.Event()
    out = {}

    def echo():
        # the far end: a C-level blocking loop in its own thread
        while True:
            d = b.recv(64)
            if not d:
                return
            b.sendall(d)

    def cpu():
        out["cpu_tid"] = threading.get_native_id()
        x = 0
        while not stop.is_set():
            for i in range(10000):
                x += i

    def io():
        out["io_tid"] = threading.get_native_id()
        t0 = time.monotonic_ns()
        for _ in range(trips):
            a.sendall(b"x")
            a.recv(64)
        out["io_ns"] = time.monotonic_ns() - t0

    threading.Thread(target=echo, name="echo", daemon=True).start()
    c = threading.Thread(target=cpu, name="cpu")
    i = threading.Thread(target=io, name="io")
    c.start()
    time.sleep(0.02)
    i.start()
    i.join()
    stop.set()
    c.join()
    a.close()
    out["trips"] = trips
    out["mean_trip_ns"] = out["io_ns"] // trips
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
