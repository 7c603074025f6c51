# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Says "ready PID" on stdout, waits for a line on stdin (the test's go,
once gilscope traces it), then os.execv's the command in its arguments:
a process that becomes another program while it is traced.  A few
threads of its own run until then, so the old image has threads to lose.

usage: exec_after.py PROGRAM ARGS...
"""
import os
import sys
import threading

stop = threading.Event()
threads = [threading.Thread(target=stop.wait, name="old-%d" % i) for i in range(3)]
for t in threads:
    t.start()
# "ready PID TID...": the old image's threads, which must not outlive it
print("ready %d %s" % (os.getpid(), " ".join(str(t.native_id) for t in threads)), flush=True)
sys.stdin.readline()
# the old image's threads are still alive here: the exec ends them
os.execv(sys.argv[1], sys.argv[1:])
