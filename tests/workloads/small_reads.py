# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The GIL tracer's hard case: a tight loop of small reads, each of which
releases and retakes the GIL.  Prints its own elapsed time as JSON.

usage: small_reads.py READS
"""
import json
import os
import sys
import time


def main():
    n = int(sys.argv[1])
    fd = os.open("/dev/zero", os.O_RDONLY)
    t0 = time.monotonic_ns()
    for _ in range(n):
        os.read(fd, 64)
    t1 = time.monotonic_ns()
    print(json.dumps({"elapsed_ns": t1 - t0, "reads": n}), flush=True)


if __name__ == "__main__":
    main()
