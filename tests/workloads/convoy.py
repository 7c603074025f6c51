# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The convoy effect: a CPU-bound thread beside a thread doing short
blocking socket round trips (an echo over a socketpair).  Each time the
I/O thread comes back from its blocking recv it must wait for the GIL,
which the CPU thread keeps until the switch interval forces it out.

The far end is a child process (its own interpreter, no part of our GIL)
that answers after ECHO_DELAY_S: while the I/O thread is blocked, the CPU
thread, woken when the GIL was let go, has that long to get a CPU and
take it.  With an instant answer, on a busy machine the I/O thread often
took the GIL back before the CPU thread even ran - no convoy, by the
scheduler's choice rather than the GIL's.

Prints its own ground truth: round trips, their total and mean latency,
and the threads' native ids.

usage: convoy.py ROUND_TRIPS [SWITCH_INTERVAL_S]
"""
import json
import os
import socket
import sys
import threading
import time

ECHO_DELAY_S = 0.001


def echo(b):
    """The far end, in the child: answer each byte after ECHO_DELAY_S."""
    while True:
        d = b.recv(64)
        if not d:
            os._exit(0)
        time.sleep(ECHO_DELAY_S)
        b.sendall(d)


def main():
    trips = int(sys.argv[1])
    if len(sys.argv) > 2:
        sys.setswitchinterval(float(sys.argv[2]))
    a, b = socket.socketpair()
    child = os.fork()       # before any thread: a child of one thread
    if child == 0:
        a.close()
        echo(b)
    b.close()
    stop = threading.Event()
    cpu_running = threading.Event()
    out = {}

    def cpu():
        out["cpu_tid"] = threading.get_native_id()
        cpu_running.set()
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

    c = threading.Thread(target=cpu, name="cpu")
    i = threading.Thread(target=io, name="io")
    c.start()
    cpu_running.wait()      # the I/O thread starts beside a running CPU thread
    i.start()
    i.join()
    stop.set()
    c.join()
    a.close()
    os.waitpid(child, 0)
    out["trips"] = trips
    out["mean_trip_ns"] = out["io_ns"] // trips
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
